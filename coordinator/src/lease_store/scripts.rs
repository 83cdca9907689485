//! The Lua scripts that make lease writes atomic compare-and-set operations.
//!
//! Epochs and tokens are compared as decimal strings, never as Lua numbers: Lua numbers are
//! doubles and would round u64 values above 2^53. `updated_at_ms` comes from `TIME`, the Redis
//! server clock, so nodes with skewed clocks still write comparable times.

use std::sync::LazyLock;

use redis::Script;

/// Lua: the Redis server time in milliseconds, as a decimal string in `now`.
const NOW: &str = "local t = redis.call('TIME')
local now = string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000))
";

/// KEYS: lease hash, lease set. ARGV: lease id.
/// Creates the lease (epoch 0, no owner) unless it exists, and indexes it. Returns 1 if created.
pub(crate) static ENSURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'epoch', '0', 'updated_at_ms', now)
return 1"
    ))
});

/// Reply of [`ASSIGN`]: applied.
pub(crate) const ASSIGN_APPLIED: i64 = 1;
/// Reply of [`ASSIGN`]: the stored epoch is not the expected one.
pub(crate) const ASSIGN_EPOCH_MOVED: i64 = 0;
/// Reply of [`ASSIGN`]: the leader key does not hold the caller's token.
pub(crate) const ASSIGN_FENCED: i64 = -1;
/// Reply of [`ASSIGN`]: the lease does not exist.
pub(crate) const ASSIGN_UNKNOWN: i64 = -2;

/// KEYS: lease hash, leader key. ARGV: expected epoch, new epoch, leader token,
/// "1" + owner to set an owner or "0" to clear it.
/// The leader key holds `<candidate_id>:<token>`; tokens are unique (`INCR`), so matching the
/// part after the last `:` identifies the leader.
pub(crate) static ASSIGN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "local leader = redis.call('GET', KEYS[2])
if not leader then return {ASSIGN_FENCED} end
local token = string.match(leader, ':(%d+)$')
if token ~= ARGV[3] then return {ASSIGN_FENCED} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {ASSIGN_UNKNOWN} end
if (redis.call('HGET', KEYS[1], 'epoch') or '0') ~= ARGV[1] then return {ASSIGN_EPOCH_MOVED} end
{NOW}
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'updated_at_ms', now)
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[5])
else
  redis.call('HDEL', KEYS[1], 'owner')
end
return {ASSIGN_APPLIED}"
    ))
});

/// KEYS: lease hash. ARGV: node, epoch, checkpoint.
/// Writes the checkpoint iff the lease is still the node's under that epoch. Returns 1 if written.
pub(crate) static CHECKPOINT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
{NOW}
redis.call('HSET', KEYS[1], 'checkpoint', ARGV[3], 'updated_at_ms', now)
return 1"
    ))
});

/// KEYS: the replaced lease's hash, the lease set, then one hash per successor.
/// ARGV: node, epoch, the replaced lease's id, then the successor ids (same order as KEYS[3..]).
/// Iff the lease is still the node's under that epoch: creates each missing successor
/// (epoch 0, no owner, the replaced lease's checkpoint), indexes it, and removes the replaced
/// lease. Returns 1 if replaced.
pub(crate) static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
{NOW}
local checkpoint = redis.call('HGET', KEYS[1], 'checkpoint')
for i = 3, #KEYS do
  redis.call('SADD', KEYS[2], ARGV[i + 1])
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'epoch', '0', 'updated_at_ms', now)
    if checkpoint then redis.call('HSET', KEYS[i], 'checkpoint', checkpoint) end
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[3])
return 1"
    ))
});
