//! Event-time windows aligned to the epoch: tumbling (slide = size) or hopping.

use serde::Serialize;

use crate::time::Millis;

/// A half-open interval of event time, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Window {
    pub start: Millis,
    pub end: Millis,
}

/// Window size and slide. Windows start at every multiple of `slide` since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WindowSpec {
    pub size: Millis,
    pub slide: Millis,
}

impl WindowSpec {
    pub fn tumbling(size: Millis) -> WindowSpec {
        WindowSpec { size, slide: size }
    }

    pub fn hopping(size: Millis, slide: Millis) -> WindowSpec {
        WindowSpec { size, slide }
    }

    pub fn is_tumbling(&self) -> bool {
        self.size == self.slide
    }

    /// The latest-starting window that contains `t` (it also ends last).
    pub fn last_window(&self, t: Millis) -> Window {
        let start = t.div_euclid(self.slide) * self.slide;
        Window {
            start,
            end: start + self.size,
        }
    }

    /// Every window that contains `t`, latest first.
    pub fn windows(&self, t: Millis) -> impl Iterator<Item = Window> + use<> {
        let spec = *self;
        let last = self.last_window(t);
        std::iter::successors(Some(last), move |w| {
            let start = w.start - spec.slide;
            (start + spec.size > t).then_some(Window {
                start,
                end: start + spec.size,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_boundary_belongs_to_the_next_window() {
        let spec = WindowSpec::tumbling(100_000);
        let ws: Vec<_> = spec.windows(200_000).collect();
        assert_eq!(
            ws,
            vec![Window {
                start: 200_000,
                end: 300_000
            }]
        );
        let ws: Vec<_> = spec.windows(199_999).collect();
        assert_eq!(
            ws,
            vec![Window {
                start: 100_000,
                end: 200_000
            }]
        );
    }

    #[test]
    fn hopping_windows_overlap() {
        let spec = WindowSpec::hopping(100_000, 50_000);
        let ws: Vec<_> = spec.windows(120_000).collect();
        assert_eq!(
            ws,
            vec![
                Window {
                    start: 100_000,
                    end: 200_000
                },
                Window {
                    start: 50_000,
                    end: 150_000
                }
            ]
        );
        // A slide that does not divide the size: 2 or 3 windows per event.
        let spec = WindowSpec::hopping(100_000, 40_000);
        assert_eq!(spec.windows(80_000).count(), 3);
        assert_eq!(spec.windows(119_999).count(), 2);
        for t in [0, 1, 39_999, 40_000, 99_999, 100_000] {
            for w in spec.windows(t) {
                assert!(w.start <= t && t < w.end, "{t} in {w:?}");
            }
        }
    }
}
