//! Key layout of the single table. Every key and attribute name is a constant here, so an
//! expression never spells one by hand.
//!
//! | item          | pk            | sk                 | gsi1 (by owner)            | gsi2 (active)     | gsi3 (work queue)                 |
//! |---------------|---------------|--------------------|----------------------------|-------------------|-----------------------------------|
//! | campaign      | `C#<id>`      | `META`             | `U#<owner>` / `<ms>#<id>`  | `ACTIVE#<shard>` / `<id>` while pending, running, paused | - |
//! | contact       | `C#<id>`      | `P#<e164>`         | -                          | -                 | `Q#<id>` / `<due ms>#<seq>` while dialable, `L#<id>` / `<lease ms>#<seq>` while calling |
//! | attempt       | `C#<id>`      | `A#<e164>#<nn>`    | `K#<owner>` / `<started ms>#<id>#<e164>#<nn>` | - | -                     |
//! | agent         | `U#<owner>`   | `AGENT#<id>`       | -                          | -                 | -                                 |
//! | idempotency   | `U#<owner>`   | `IDEM#<key>`       | -                          | -                 | - (expires by `ttl`)              |
//! | do-not-call   | `U#<owner>`   | `DNC#<e164>`       | -                          | -                 | -                                 |

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
pub const GSI3: &str = "gsi3";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
pub const TTL: &str = "ttl";

pub const META: &str = "META";

/// Shards of the active-campaign index: spreads the tick's reads over partitions.
pub const ACTIVE_SHARDS: u32 = 4;

pub fn campaign_pk(id: &str) -> String {
    format!("C#{id}")
}
pub fn contact_sk(phone: &str) -> String {
    format!("P#{phone}")
}
pub const CONTACT_PREFIX: &str = "P#";
pub fn attempt_sk(phone: &str, n: u32) -> String {
    format!("A#{phone}#{n:02}")
}
pub const ATTEMPT_PREFIX: &str = "A#";
pub fn user_pk(owner: &str) -> String {
    format!("U#{owner}")
}
pub fn agent_sk(id: &str) -> String {
    format!("AGENT#{id}")
}
pub const AGENT_PREFIX: &str = "AGENT#";
pub fn idem_sk(key: &str) -> String {
    format!("IDEM#{key}")
}
pub fn dnc_sk(phone: &str) -> String {
    format!("DNC#{phone}")
}
pub fn owner_sort(created_ms: i64, id: &str) -> String {
    format!("{created_ms:015}#{id}")
}
/// The owner's calls in the by-owner index (every attempt, across campaigns): a prefix of its
/// own, so a Query for a user's campaigns (`U#`) never meets a call and the reverse.
pub fn owner_calls_pk(owner: &str) -> String {
    format!("K#{owner}")
}
/// An attempt's sort key in the owner's calls: its start, then its table key's parts, so the
/// newest sorts last (read backwards) and the table key can be rebuilt from it (`call_key`).
pub fn call_sort(started_ms: i64, campaign_id: &str, phone: &str, n: u32) -> String {
    format!("{:015}#{campaign_id}#{phone}#{n:02}", started_ms.max(0))
}
/// The table key (`pk`, `sk`) of the attempt whose `call_sort` is `sort`, when `sort` has that
/// shape: what a calls cursor must decode to before it becomes a Query's start key.
pub fn call_key(sort: &str) -> Option<(String, String)> {
    let mut parts = sort.split('#');
    let (ms, id, phone, n) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let digits = |t: &str, lo: usize, hi: usize| (lo..=hi).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
    let ok = parts.next().is_none()
        && digits(ms, 15, 15)
        && (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && phone.strip_prefix('+').is_some_and(|d| digits(d, 1, 15))
        && digits(n, 2, 10);
    ok.then(|| (campaign_pk(id), format!("{ATTEMPT_PREFIX}{phone}#{n}")))
}
pub fn active_pk(id: &str) -> String {
    // A stable shard from the id, so the same campaign always lands on the same shard.
    let h = id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("ACTIVE#{}", h % ACTIVE_SHARDS)
}
pub fn active_shard_pk(shard: u32) -> String {
    format!("ACTIVE#{shard}")
}
pub fn queue_pk(id: &str) -> String {
    format!("Q#{id}")
}
pub fn lease_pk(id: &str) -> String {
    format!("L#{id}")
}
/// Sort key in the work index: due time, then upload order, both fixed width so strings sort
/// like numbers.
pub fn work_sk(due_ms: i64, seq: u64) -> String {
    format!("{:015}#{seq:09}", due_ms.max(0))
}
/// Upper bound for "due at or before `ms`" in the work index.
pub fn work_sk_upto(ms: i64) -> String {
    format!("{:015}#~", ms.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_sort_key_names_its_attempt_and_sorts_by_start() {
        let sort = call_sort(1_765_000_000_123, "0190c3e4a1b27c3d8e9f0a1b2c3d4e5f", "+12025550101", 3);
        assert_eq!(sort, "001765000000123#0190c3e4a1b27c3d8e9f0a1b2c3d4e5f#+12025550101#03");
        assert_eq!(
            call_key(&sort),
            Some((campaign_pk("0190c3e4a1b27c3d8e9f0a1b2c3d4e5f"), attempt_sk("+12025550101", 3)))
        );
        assert!(call_sort(999, "a", "+1", 1) < call_sort(1_000, "a", "+1", 1), "fixed width: strings sort like times");
        for junk in ["", "META", "001765000000123#id", "1765000000123#id#+1202#01", "001765000000123#id#12025550101#01", "001765000000123#i d#+1202#01", "001765000000123#id#+1202#1", "001765000000123#id#+1202#01#x"] {
            assert_eq!(call_key(junk), None, "{junk}");
        }
    }
}
