#!/usr/bin/env bash
# Chaos run for the history: many processes, kill -9 mid-stream, concurrent writers, all on one
# SQLite file, against the fake provider on 127.0.0.1. Prints what happened, the integrity check
# and the totals, and exits non-zero if any promise of RELIABILITY.md was broken:
#   - PRAGMA integrity_check is "ok";
#   - no answer is left "streaming" once a command has opened the database again;
#   - every answer that has text has a usage row (nothing unbilled), and the roll-ups count
#     exactly the usage rows (nothing counted twice, nothing lost);
#   - every concurrent writer that was not killed exited 0 (no "database is locked");
#   - no conversation is left without a turn.
#
#   scripts/chaos.sh [KILLS] [WRITERS] [ROUNDS] [KILL_AFTER_MS]   (defaults 20, 8, 5, 600-1500)
#
# KILL_AFTER_MS is the range each victim runs for before its kill -9 ("2000-4000": well into
# its stream). Every command has a deadline (CHAOS_DEADLINE_S, default 300 s, through
# coreutils' timeout): a command still running then counts as failed and is named, so the run
# always ends. Uses target/debug binaries (built if missing). Needs sqlite3 for the checks.
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=${1:-20}
WRITERS=${2:-8}
ROUNDS=${3:-5}
KILL_AFTER_MS=${4:-600-1500}
DEADLINE_S=${CHAOS_DEADLINE_S:-300}
[[ $KILL_AFTER_MS =~ ^([0-9]+)-([0-9]+)$ ]] && (( BASH_REMATCH[1] <= BASH_REMATCH[2] )) || { echo "chaos: KILL_AFTER_MS is MIN-MAX in milliseconds, e.g. 2000-4000" >&2; exit 2; }
KILL_MIN=${BASH_REMATCH[1]}
KILL_SPAN=$(( BASH_REMATCH[2] - BASH_REMATCH[1] + 1 ))
BIN=target/debug
if [[ ! -x $BIN/tally-cli || ! -x $BIN/tally-fake-provider ]]; then
  nice -n 10 cargo build -q -p tally-cli -p tally-fake-provider
fi
command -v sqlite3 >/dev/null || { echo "chaos: sqlite3 is needed for the checks (apt-get install sqlite3)" >&2; exit 2; }

WORK=$(mktemp -d)
FAKE_PID=
cleanup() {
  [[ -n $FAKE_PID ]] && kill "$FAKE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/tally-fake-provider" --port 0 >"$WORK/fake.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 100); do grep -q "OpenAI-compatible base URL" "$WORK/fake.out" && break; sleep 0.05; done
BASE=$(sed -n 's/.*OpenAI-compatible base URL: *//p' "$WORK/fake.out")
[[ -n $BASE ]] || { echo "chaos: the fake provider did not start" >&2; cat "$WORK/fake.out" >&2; exit 2; }

export TALLY_DATA_DIR="$WORK/data"
export OPENAI_API_KEY=chaos-test-key
# No session bus: the keyring is unreachable and keys come from the environment.
export DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/tally-chaos
DB="$TALLY_DATA_DIR/tally.sqlite3"
# Each command ends by the deadline (exit 124 from timeout: counted as a failure, never a hang).
cli() { timeout -k 5 "$DEADLINE_S" "$BIN/tally-cli" "$@"; }
ask() { cli ask "$1" -t openai:gpt-4o-mini --base-url "openai=$BASE"; }

echo "chaos: fake provider at $BASE, history at $DB"

# 1. kill -9 mid-stream, with concurrent writers running at the same time.
start=$(date +%s)
writer_fail=0
writer_runs=0
writers() {
  local w=$1 fails=0
  for r in $(seq "$ROUNDS"); do
    local rc=0
    ask "writer $w round $r [[fake tokens=40 pace_ms=2]]" >/dev/null 2>"$WORK/writer-$w-$r.err" || rc=$?
    if [[ $rc != 0 ]]; then
      fails=$((fails + 1))
      if [[ $rc == 124 || $rc == 137 ]]; then echo "writer $w round $r: still running after ${DEADLINE_S} s, killed" >>"$WORK/writer-$w-$r.err"; fi
    fi
  done
  echo "$fails" >"$WORK/writer-$w.fails"
}
# The writers' own ids: waiting on "every job but the fake provider" found none once the writers
# had finished before the kill loop (kills at 2-4 s), and a bare `wait` then waited for the fake
# provider, which never exits: the run hung.
writer_pids=()
for w in $(seq "$WRITERS"); do
  writers "$w" &
  writer_pids+=("$!")
done

killed=0
for k in $(seq "$KILLS"); do
  # Started directly (not through the ask function, whose subshell would take the kill instead).
  "$BIN/tally-cli" ask "victim $k [[fake tokens=3000 pace_ms=5]]" -t openai:gpt-4o-mini --base-url "openai=$BASE" >/dev/null 2>&1 &
  victim=$!
  # Let it run for a random time in KILL_AFTER_MS (some die starting up, some mid-stream), then kill.
  ms=$(( KILL_MIN + RANDOM % KILL_SPAN ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -9 "$victim" 2>/dev/null && killed=$((killed + 1)) || true
  wait "$victim" 2>/dev/null || true
done
wait "${writer_pids[@]}" || true
for w in $(seq "$WRITERS"); do
  writer_fail=$((writer_fail + $(cat "$WORK/writer-$w.fails")))
  writer_runs=$((writer_runs + ROUNDS))
done

q() { sqlite3 -batch -noheader "$DB" "$1"; }
streaming_before=$(q "SELECT count(*) FROM messages WHERE status = 'streaming'")

# 2. Any command that opens the database bills what the killed processes left streaming.
cli usage >"$WORK/usage.json" || { echo "chaos: tally-cli usage failed (exit $?)" >&2; exit 1; }
elapsed=$(( $(date +%s) - start ))

integrity=$(q "PRAGMA integrity_check")
streaming_after=$(q "SELECT count(*) FROM messages WHERE status = 'streaming'")
with_text=$(q "SELECT count(*) FROM messages WHERE role = 'assistant' AND (content != '' OR reasoning != '')")
unbilled=$(q "SELECT count(*) FROM messages m WHERE m.role = 'assistant' AND (m.content != '' OR m.reasoning != '') AND NOT EXISTS (SELECT 1 FROM usage u WHERE u.message_id = m.id)")
usage_rows=$(q "SELECT count(*) FROM usage")
rolled_up=$(q "SELECT coalesce(sum(answers), 0) FROM usage_daily")
estimated=$(q "SELECT count(*) FROM usage WHERE estimated = 1")
empty_conversations=$(q "SELECT count(*) FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id)")

cat <<REPORT
chaos: ${KILLS} kill -9 mid-stream after ${KILL_AFTER_MS} ms (${killed} killed), ${WRITERS} concurrent writers x ${ROUNDS} rounds, ${elapsed} s
  integrity_check:                 ${integrity}
  writer runs failed:              ${writer_fail} of ${writer_runs}
  answers streaming after kills:   ${streaming_before} (billed by the next command)
  answers streaming now:           ${streaming_after}
  answers with text:               ${with_text}
  answers with text and no usage:  ${unbilled}
  usage rows / counted in roll-ups: ${usage_rows} / ${rolled_up} (estimated ≈: ${estimated})
  conversations without a turn:    ${empty_conversations}
  usage totals:                    $(head -1 "$WORK/usage.json")
REPORT

ok=1
[[ $integrity == ok ]] || ok=0
[[ $writer_fail == 0 ]] || { ok=0; cat "$WORK"/writer-*.err | sort | uniq -c | head >&2; }
[[ $streaming_after == 0 ]] || ok=0
[[ $unbilled == 0 ]] || ok=0
[[ $usage_rows == "$rolled_up" ]] || ok=0
[[ $empty_conversations == 0 ]] || ok=0
if [[ $ok == 1 ]]; then echo "chaos: every promise held"; else echo "chaos: a promise was broken" >&2; exit 1; fi
