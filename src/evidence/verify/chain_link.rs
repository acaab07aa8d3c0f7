//! The `chain` check: the execution's link recomputes, follows its predecessor, is followed by
//! its successor, and equals the record's copy. A break is tampering: links were edited,
//! inserted, removed or reordered.

use super::checks::{CheckState, Checks};
use super::one::OnRecord;
use crate::store::{HistoryStore, StoreError};
use crate::types::chain::{ChainLink, ChainPos, GENESIS};

/// Adds the `chain` check; `doc_read`: the response file was read (so it should be linked).
pub(super) async fn check(
    c: &mut Checks,
    store: &dyn HistoryStore,
    e: &OnRecord,
    doc_read: bool,
) -> Result<(), StoreError> {
    match &e.link {
        Some(l) => {
            let (state, detail) =
                check_link(store, l, e.claimed.as_ref().map(|claimed| &claimed.chain)).await?;
            c.add("chain", state, detail);
        }
        None if e.has_evidence() || e.record.is_some() || doc_read => c.add(
            "chain",
            CheckState::Tampered,
            match &e.claimed {
                Some(claimed) => format!(
                    "the record claims chain link #{}, but the store's chain has no link for this execution (removed?)",
                    claimed.chain.seq
                ),
                None if e.record.is_some() && !e.file_exists => {
                    "no chain link (no evidence was written)".into()
                }
                None => "no link in the evidence chain".into(),
            },
        ),
        None => {}
    }
    // A record without any evidence at all is unverified, not tampered.
    if e.without_evidence()
        && let Some(last) = c.0.last_mut()
        && last.name == "chain"
    {
        last.state = CheckState::Fail;
    }
    Ok(())
}

/// The chain around one link.
async fn check_link(
    store: &dyn HistoryStore,
    l: &ChainLink,
    claimed: Option<&ChainLink>,
) -> Result<(CheckState, String), StoreError> {
    let mut problems = Vec::new();
    if !l.is_self_consistent() {
        problems.push(format!(
            "link #{} does not hash to its recorded hash (the link was edited)",
            l.seq
        ));
    }
    let prev_ok = if l.seq <= 1 {
        if l.prev_hash != GENESIS {
            problems.push(format!(
                "link #{} is first but does not start from the genesis hash",
                l.seq
            ));
        }
        "is the first link".to_string()
    } else {
        match store.chain_link(ChainPos::Seq(l.seq - 1)).await? {
            None => {
                problems.push(format!(
                    "link #{} is missing (deleted), so #{} follows nothing",
                    l.seq - 1,
                    l.seq
                ));
                String::new()
            }
            Some(p) => {
                if p.hash != l.prev_hash {
                    problems.push(format!(
                        "link #{} does not follow #{}: its previous hash is {} but #{} hashes to {} (links inserted, removed or reordered)",
                        l.seq, p.seq, l.prev_hash, p.seq, p.hash
                    ));
                }
                if !p.is_self_consistent() {
                    problems.push(format!(
                        "the previous link #{} does not hash to its recorded hash (edited)",
                        p.seq
                    ));
                }
                format!("follows #{}", p.seq)
            }
        }
    };
    let next_ok = match store.chain_link(ChainPos::Seq(l.seq + 1)).await? {
        None => match store.chain_link(ChainPos::Head).await? {
            Some(h) if h.seq > l.seq => {
                problems.push(format!(
                    "link #{} is missing (deleted) although the head is #{}",
                    l.seq + 1,
                    h.seq
                ));
                String::new()
            }
            _ => "is the head".to_string(),
        },
        Some(n) => {
            if n.prev_hash != l.hash {
                problems.push(format!(
                    "the next link #{} does not follow #{} (links inserted, removed or reordered)",
                    n.seq, l.seq
                ));
            }
            format!("is followed by #{}", n.seq)
        }
    };
    if let Some(cl) = claimed
        && cl != l
    {
        problems.push(format!(
            "the record's copy of the link (#{}, {}) differs from the store's chain (#{}, {})",
            cl.seq, cl.hash, l.seq, l.hash
        ));
    }
    Ok(if problems.is_empty() {
        (
            CheckState::Pass,
            format!("link #{} intact; {prev_ok}, {next_ok}", l.seq),
        )
    } else {
        (CheckState::Tampered, problems.join("; "))
    })
}
