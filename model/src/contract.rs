//! The feature contract between a model and the pipeline: the ordered
//! feature names and `FEATURES_VERSION` the model was trained on must equal
//! the pipeline's, or the model is refused with the first difference named.

use pipeline::{FEATURE_NAMES, FEATURES_VERSION};

/// Metadata key holding the comma-separated feature names.
pub const FEATURES_KEY: &str = "pricestream.features";
/// Metadata key holding the features version.
pub const VERSION_KEY: &str = "pricestream.features_version";

/// Checks a model's feature list and version against the pipeline's.
pub fn check(names: &[&str], version: &str) -> Result<(), String> {
    if version != FEATURES_VERSION.to_string() {
        return Err(format!(
            "the model was trained on features version {version}, the pipeline has version {FEATURES_VERSION}"
        ));
    }
    for (i, (model, ours)) in names.iter().zip(FEATURE_NAMES.iter()).enumerate() {
        if model != ours {
            return Err(format!(
                "feature #{i} differs: the model has `{model}`, the pipeline has `{ours}`"
            ));
        }
    }
    match names.len().cmp(&FEATURE_NAMES.len()) {
        std::cmp::Ordering::Less => Err(format!(
            "the model has {} features, the pipeline {}: the first missing is `{}`",
            names.len(),
            FEATURE_NAMES.len(),
            FEATURE_NAMES[names.len()]
        )),
        std::cmp::Ordering::Greater => Err(format!(
            "the model has {} features, the pipeline {}: the first extra is `{}`",
            names.len(),
            FEATURE_NAMES.len(),
            names[FEATURE_NAMES.len()]
        )),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Parses the comma-separated list stored in model metadata.
pub fn parse_names(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_difference() {
        let v = FEATURES_VERSION.to_string();
        assert!(check(&FEATURE_NAMES, &v).is_ok());
        let mut renamed = FEATURE_NAMES.to_vec();
        renamed[5] = "sessions";
        assert_eq!(
            check(&renamed, &v).unwrap_err(),
            "feature #5 differs: the model has `sessions`, the pipeline has `unique_sessions`"
        );
        assert!(
            check(&FEATURE_NAMES[..27], &v)
                .unwrap_err()
                .contains("first missing is `weekday_cos`")
        );
        assert!(
            check(&FEATURE_NAMES, "0")
                .unwrap_err()
                .contains("version 0")
        );
        // A model trained before the trend and restock features is refused.
        assert!(
            check(&FEATURE_NAMES[..28], "1")
                .unwrap_err()
                .contains("trained on features version 1, the pipeline has version 2")
        );
    }
}
