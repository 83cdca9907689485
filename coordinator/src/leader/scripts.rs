//! The Lua scripts of the leader election: acquire-or-refresh in one step, and resign.
//!
//! The candidate owns the key when the part before the last `:` of its value is its id.

use std::sync::LazyLock;

use redis::Script;

/// Reply code of [`TICK`]: someone else leads (value follows).
pub(crate) const TICK_FOLLOWER: i64 = 0;
/// Reply code of [`TICK`]: the key was ours and its TTL was refreshed (value follows).
pub(crate) const TICK_REFRESHED: i64 = 1;
/// Reply code of [`TICK`]: the key was free and we took it with a new token (value follows).
pub(crate) const TICK_ACQUIRED: i64 = 2;

/// KEYS: leader key, token counter, leadership start. ARGV: candidate id, ttl in ms. Returns
/// `{code, value}`. On acquire it records the Redis server time as the leadership's start.
/// The token comes from `INCR` in the same script as the `SET`, so a later leader always holds
/// a higher token than every earlier one (two separate commands could interleave and let a
/// slow candidate install a lower token after a higher one).
pub(crate) static TICK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "local current = redis.call('GET', KEYS[1])
if current then
  local id = string.match(current, '^(.*):[^:]*$')
  if id == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {{{TICK_REFRESHED}, current}}
  end
  return {{{TICK_FOLLOWER}, current}}
end
local token = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. ':' .. string.format('%.0f', token)
redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2])
local t = redis.call('TIME')
redis.call('SET', KEYS[3], value .. '@' .. string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000)))
return {{{TICK_ACQUIRED}, value}}"
    ))
});

/// KEYS: leader key. ARGV: candidate id. Deletes the key iff it is ours; returns 1 if deleted.
pub(crate) static RESIGN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^(.*):[^:]*$') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0",
    )
});
