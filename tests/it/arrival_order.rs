//! Strict FIFO by arrival, as hosts really send requests: several `tools/call`s written to the
//! server's stdin in **one write**, round after round. Whatever order rmcp's handlers happen to
//! run in, the tasks must start in the order the requests were written — for blocking calls,
//! for `wait: false` calls (whose `queue_position`s must count from arrival), and for
//! `cc_execute` and `cc_execute_list` mixed.

use crate::support::raw_stdio::Server;
use serde_json::{Value, json};

fn task(tag: &str) -> String {
    format!("@fake success\ntag {tag}")
}

const N: usize = 5;
const ROUNDS: usize = 12;

#[test]
fn blocking_calls_written_together_start_in_arrival_order_every_round() {
    let mut s = Server::start();
    for round in 0..ROUNDS {
        let (ids, msgs): (Vec<i64>, Vec<Value>) = (0..N)
            .map(|i| s.call("cc_execute", json!({"task": task(&format!("{round}/{i}"))})))
            .unzip();
        s.write_all(&msgs);
        let answers = s.answers(&ids);
        for id in &ids {
            assert_eq!(
                answers[id]["result"]["structuredContent"]["status"], "succeeded",
                "{}",
                answers[id]
            );
        }
    }
    let expected: Vec<String> = (0..ROUNDS)
        .flat_map(|r| (0..N).map(move |i| format!("{r}/{i}")))
        .collect();
    assert_eq!(s.started(), expected);
}

#[test]
fn wait_false_calls_written_together_get_positions_in_arrival_order_and_start_in_it() {
    let mut s = Server::start();
    let mut expected = Vec::new();
    for round in 0..ROUNDS / 2 {
        // The first task runs long enough that none finishes while the others are read:
        // the positions they get are then exactly their places in line.
        let (ids, msgs): (Vec<i64>, Vec<Value>) = (0..N)
            .map(|i| {
                let tag = format!("{round}/{i}");
                let text = if i == 0 {
                    format!("@fake slow secs=0.3\ntag {tag}")
                } else {
                    task(&tag)
                };
                s.call("cc_execute", json!({"task": text, "wait": false}))
            })
            .unzip();
        s.write_all(&msgs);
        let answers = s.answers(&ids);
        let positions: Vec<i64> = ids
            .iter()
            .map(|id| {
                answers[id]["result"]["structuredContent"]["queue_position"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(positions, [0, 1, 2, 3, 4], "round {round}");
        expected.extend((0..N).map(|i| format!("{round}/{i}")));
        // A blocking call queues behind all of them: when it answers, the round is done.
        let (id, m) = s.call("cc_execute", json!({"task": task(&format!("{round}/end"))}));
        s.write_all(&[m]);
        s.answers(&[id]);
        expected.push(format!("{round}/end"));
    }
    assert_eq!(s.started(), expected);
}

#[test]
fn cc_execute_and_cc_execute_list_written_together_start_in_arrival_order() {
    let mut s = Server::start();
    for round in 0..ROUNDS / 2 {
        let mut ids = Vec::new();
        let mut msgs = Vec::new();
        for i in 0..N {
            let tag = format!("{round}/{i}");
            let (id, m) = if i % 2 == 1 {
                // A list whose first task is this arrival's; its second task comes later.
                s.call(
                    "cc_execute_list",
                    json!({"tasks": [task(&tag), task(&format!("{tag}b"))], "wait": true}),
                )
            } else {
                s.call("cc_execute", json!({"task": task(&tag)}))
            };
            ids.push(id);
            msgs.push(m);
        }
        s.write_all(&msgs);
        let answers = s.answers(&ids);
        for id in &ids {
            assert_ne!(answers[id]["result"]["isError"], true, "{}", answers[id]);
        }
    }
    let started = s.started();
    for round in 0..ROUNDS / 2 {
        // The first task of each arrival, in the order they started.
        let firsts: Vec<&String> = started
            .iter()
            .filter(|t| t.starts_with(&format!("{round}/")) && !t.ends_with('b'))
            .collect();
        let expected: Vec<String> = (0..N).map(|i| format!("{round}/{i}")).collect();
        assert_eq!(firsts, expected.iter().collect::<Vec<_>>(), "{started:?}");
    }
}
