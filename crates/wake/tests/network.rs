//! The network watcher against the kernel's own address events, in a network namespace the test
//! makes (`unshare --net`, so the machine's interfaces are not touched): one end of a veth pair
//! gets an address, then trades it for another.

use std::net::IpAddr;
use std::time::Duration;

use softphone_wake::test_support::{ip, run_in_new_network_namespace};
use softphone_wake::{NetworkChange, watch_network};
use tokio::sync::mpsc;

async fn next_change(changes: &mut mpsc::UnboundedReceiver<NetworkChange>) -> NetworkChange {
    tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("a change within 10 s")
        .expect("the watcher runs")
}

/// Runs in the namespace [`an_address_that_comes_or_is_traded_is_one_change`] makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run inside a network namespace by an_address_that_comes_or_is_traded_is_one_change"]
async fn in_a_fresh_namespace() {
    let (sender, mut changes) = mpsc::unbounded_channel();
    tokio::spawn(watch_network(move |change| {
        let _ = sender.send(change);
    }));
    // The start-up listing (loopback only here) is no change.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ip(&["link", "add", "softphone0", "type", "veth", "peer", "name", "softphone1"]);
    ip(&["addr", "add", "10.77.0.2/24", "dev", "softphone0"]);
    ip(&["link", "set", "softphone0", "up"]);
    let address = |text: &str| text.parse::<IpAddr>().expect("an address");
    let first = next_change(&mut changes).await;
    assert_eq!(first.added, [address("10.77.0.2")], "{first:?}");
    assert!(first.removed.is_empty(), "{first:?}");
    // Another network: the old address goes and a new one comes, one change. (In the same subnet
    // the new one would be secondary, and the kernel removes it with the primary.)
    ip(&["addr", "add", "10.77.1.3/24", "dev", "softphone0"]);
    ip(&["addr", "del", "10.77.0.2/24", "dev", "softphone0"]);
    let second = next_change(&mut changes).await;
    assert_eq!((second.added, second.removed), (vec![address("10.77.1.3")], vec![address("10.77.0.2")]));
    assert!(tokio::time::timeout(Duration::from_secs(1), changes.recv()).await.is_err(), "nothing else changed");
}

#[test]
fn an_address_that_comes_or_is_traded_is_one_change() {
    run_in_new_network_namespace("in_a_fresh_namespace");
}
