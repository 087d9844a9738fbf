// Work done at most once per animation frame: streaming answers render here, not on every
// batch of events. Jobs queued before a frame run in it, each once, however often they were
// queued; when a frame's jobs take longer than the budget, the rest wait for the next frame, so
// a click (Stop) is always handled within a frame or two.

type Job = () => void;

const FRAME_BUDGET_MS = 10;

/** What the page spent on streaming, read by the frame probe (scripts/bench/frame_probe.sh):
 * time in frame jobs (rendering answers) and in taking in batches of events. */
export const streamCost = { frames: 0, frameMs: 0, maxFrameMs: 0, batches: 0, batchMs: 0, maxBatchMs: 0, flushMs: 0, hooksMs: 0, long: [] as LongTask[] };
/** A batch or a frame's jobs that took over 16 ms: when (performance.now()), which, how long. */
export type LongTask = { at: number; kind: 'batch' | 'frame'; ms: number };

/** Notes a piece of streaming work in `streamCost`. */
export function noteCost(kind: 'batch' | 'frame', start: number): void {
  const ms = performance.now() - start;
  if (kind === 'batch') {
    streamCost.batches += 1;
    streamCost.batchMs += ms;
    streamCost.maxBatchMs = Math.max(streamCost.maxBatchMs, ms);
  } else {
    streamCost.frames += 1;
    streamCost.frameMs += ms;
    streamCost.maxFrameMs = Math.max(streamCost.maxFrameMs, ms);
  }
  if (ms > 16 && streamCost.long.length < 500) streamCost.long.push({ at: Math.round(start), kind, ms: Math.round(ms) });
}
(globalThis as unknown as { __tallyStreamCost: typeof streamCost }).__tallyStreamCost = streamCost;
const queued = new Set<Job>();
/** Jobs that take turns: at most SHARED_PER_FRAME of them run in a frame, the longest waiting
 * first (a Set keeps the order jobs were queued in). */
const shared = new Set<Job>();
/** Turn-taking jobs that go before those in `shared` (an answer that ended). */
const first = new Set<Job>();
const afterEach = new Set<Job>();
let scheduled = false;

/** How many turn-taking jobs run in one frame. Without a GPU the page repaints what changed on
 * the CPU, and eight answers growing every frame is most of the window repainted every frame:
 * eight streams at 62 tok/s held 14–19 frames over 50 ms, one answer per frame 3 (BENCHMARKS.md,
 * session 10). So the answers streaming take turns: one column shows its new text every frame,
 * two every other frame, eight each ~6–8 times a second, a line or so at a time. */
export const SHARED_PER_FRAME = 1;

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(runFrame);
  }
}

/** Runs `job` in the next animation frame (once, however often it is asked for before then). */
export function inNextFrame(job: Job): void {
  shared.delete(job);
  first.delete(job);
  queued.add(job);
  schedule();
}

/** Runs `job` in a coming frame, taking turns with the other jobs queued this way: at most
 * SHARED_PER_FRAME of them run in a frame, the one waiting longest first. A job already queued
 * keeps its place. For work that can wait a few frames (text streaming into an answer).
 * `ahead`: the job goes before every job queued without it (an answer that ended, before those
 * still streaming), in the order they came. */
export function inFrameTurn(job: Job, ahead = false): void {
  if (queued.has(job)) return schedule();
  if (ahead) {
    shared.delete(job);
    first.add(job);
  } else if (!first.has(job)) shared.add(job);
  schedule();
}

/** Forgets a queued job (its component is gone). */
export function cancelFrameJob(job: Job): void {
  queued.delete(job);
  shared.delete(job);
  first.delete(job);
}

/** Calls `hook` after every frame that ran jobs (to keep a scroll position, say); returns the
 * function that removes it. */
export function afterFrames(hook: Job): () => void {
  afterEach.add(hook);
  return () => afterEach.delete(hook);
}

function runFrame(): void {
  scheduled = false;
  const start = performance.now();
  for (const job of [...queued]) {
    if (performance.now() - start > FRAME_BUDGET_MS) break;
    queued.delete(job);
    job();
  }
  let turns = SHARED_PER_FRAME;
  for (const job of [...first, ...shared]) {
    if (turns-- === 0 || performance.now() - start > FRAME_BUDGET_MS) break;
    first.delete(job);
    shared.delete(job);
    job();
  }
  const hooks = performance.now();
  for (const hook of afterEach) hook();
  streamCost.hooksMs += performance.now() - hooks;
  noteCost('frame', start);
  if (queued.size || shared.size || first.size) schedule();
}
