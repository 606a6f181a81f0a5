//! Shard leases against moto: one owner at a time, a stale owner cannot
//! checkpoint, a lease whose owner stopped renewing can be taken over.
#![cfg(feature = "aws")]

mod common;

use service::aws::init;
use service::leases::{
    Lease, Outcome, Position, checkpoint, hand_over, load, release, renew, request_handover, take,
};
use testkit::moto::Moto;

#[test]
fn leases_have_one_owner_and_fence_stale_workers() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[]);
    init(&aws, &config, None).unwrap();
    let table = &config.tables.checkpoints;

    let fresh = Lease {
        shard_id: "shardId-0".into(),
        ..Lease::default()
    };
    // Two workers race for a new lease: exactly one wins.
    assert_eq!(
        take(&aws, table, &fresh, "worker-a").unwrap(),
        Outcome::Done
    );
    assert_eq!(
        take(&aws, table, &fresh, "worker-b").unwrap(),
        Outcome::Lost
    );
    let mut a = load(&aws, table).unwrap().remove(0);
    assert_eq!((a.owner.as_deref(), a.counter), (Some("worker-a"), 1));

    // The owner renews and checkpoints.
    assert_eq!(
        renew(&aws, table, &mut a, "worker-a").unwrap(),
        Outcome::Done
    );
    assert_eq!(
        checkpoint(
            &aws,
            table,
            &mut a,
            "worker-a",
            &Position {
                processed: "1234".into(),
                replay_at: Some("1200".into()),
                last_window: 1_795_874_500_000,
                finished: false,
                state: Some("{}".into()),
            }
        )
        .unwrap(),
        Outcome::Done
    );
    assert_eq!(a.counter, 2);

    // worker-b sees the lease at counter 2; a stops renewing; b takes it over.
    let seen_by_b = load(&aws, table).unwrap().remove(0);
    assert_eq!(seen_by_b.checkpoint.as_deref(), Some("1234"));
    assert_eq!(
        take(&aws, table, &seen_by_b, "worker-b").unwrap(),
        Outcome::Done
    );

    // a, unaware, can neither renew nor move the checkpoint.
    assert_eq!(
        renew(&aws, table, &mut a, "worker-a").unwrap(),
        Outcome::Lost
    );
    assert_eq!(
        checkpoint(
            &aws,
            table,
            &mut a,
            "worker-a",
            &Position {
                processed: "9999".into(),
                ..Position::default()
            }
        )
        .unwrap(),
        Outcome::Lost
    );
    let now = load(&aws, table).unwrap().remove(0);
    assert_eq!(
        (now.owner.as_deref(), now.counter, now.checkpoint.as_deref()),
        (Some("worker-b"), 3, Some("1234"))
    );
    assert_eq!(
        now.last_window, 1_795_874_500_000,
        "the checkpoint moved with the lease"
    );
    assert_eq!(
        (now.replay_at.as_deref(), now.state.as_deref()),
        (Some("1200"), Some("{}"))
    );

    // b shuts down and releases it: unowned, and a can take it right away.
    assert_eq!(
        release(&aws, table, &now, "worker-b").unwrap(),
        Outcome::Done
    );
    let released = load(&aws, table).unwrap().remove(0);
    assert_eq!(released.owner, None);
    assert_eq!(
        take(&aws, table, &released, "worker-a").unwrap(),
        Outcome::Done
    );

    // c, below its share, asks a for the shard: a keeps renewing (the
    // request leaves the counter alone), a second request is refused, and
    // a hands it over after its checkpoint; a's old view is then fenced.
    let mut a = load(&aws, table).unwrap().remove(0);
    assert_eq!(
        request_handover(&aws, table, &a, "worker-c").unwrap(),
        Outcome::Done
    );
    assert_eq!(
        request_handover(&aws, table, &a, "worker-d").unwrap(),
        Outcome::Lost
    );
    assert_eq!(
        renew(&aws, table, &mut a, "worker-a").unwrap(),
        Outcome::Done
    );
    let asked = load(&aws, table).unwrap().remove(0);
    assert_eq!(asked.handover_to.as_deref(), Some("worker-c"));
    assert_eq!(
        hand_over(&aws, table, &a, "worker-a", "worker-c").unwrap(),
        Outcome::Done
    );
    let moved = load(&aws, table).unwrap().remove(0);
    assert_eq!(
        (
            moved.owner.as_deref(),
            moved.handover_to.as_deref(),
            moved.counter
        ),
        (Some("worker-c"), None, a.counter + 1)
    );
    assert_eq!(
        renew(&aws, table, &mut a, "worker-a").unwrap(),
        Outcome::Lost
    );
}
