import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SHARED_PER_FRAME, cancelFrameJob, inFrameTurn, inNextFrame } from './frames';

// Animation frames run by hand: `frame()` runs what the page would run in the next one.
let callbacks: FrameRequestCallback[] = [];
function frame(): void {
  const now = callbacks;
  callbacks = [];
  for (const c of now) c(performance.now());
}

beforeEach(() => {
  callbacks = [];
  vi.stubGlobal('requestAnimationFrame', (c: FrameRequestCallback) => callbacks.push(c));
});
afterEach(() => {
  // Whatever a test left queued runs now, so the next starts with nothing waiting.
  for (let i = 0; i < 20 && callbacks.length; i++) frame();
  vi.unstubAllGlobals();
});

describe('frame jobs', () => {
  it('runs a job queued for the next frame once, however often it was queued', () => {
    let runs = 0;
    const job = () => (runs += 1);
    inNextFrame(job);
    inNextFrame(job);
    expect(runs).toBe(0);
    frame();
    expect(runs).toBe(1);
    frame();
    expect(runs).toBe(1);
  });

  it('lets turn-taking jobs run a few per frame, the longest waiting first, each in its turn', () => {
    const ran: number[] = [];
    const jobs = Array.from({ length: 8 }, (_, i) => () => ran.push(i));
    // Eight answers streaming: each asks for a frame on every batch of text.
    const batch = () => jobs.forEach((j) => inFrameTurn(j));
    batch();
    const perFrame: number[][] = [];
    for (let f = 0; f <= 8; f++) {
      const before = ran.length;
      frame();
      perFrame.push(ran.slice(before));
      batch();
    }
    const n = SHARED_PER_FRAME;
    expect(n).toBeLessThan(4);
    // At most n a frame, in order, and none starves: every one has run after 8 / n frames.
    for (const f of perFrame) expect(f.length).toBe(n);
    expect(perFrame[0]).toEqual([0, 1].slice(0, n));
    expect(perFrame.slice(0, Math.ceil(8 / n)).flat().sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // After its turn a job goes to the back, behind the ones still waiting.
    expect(perFrame[Math.ceil(8 / n)]).toEqual(perFrame[0]);
    jobs.forEach(cancelFrameJob);
  });

  it('runs a job asked for in the next frame ahead of the turns, and only once', () => {
    const ran: string[] = [];
    const waiting = Array.from({ length: 4 }, (_, i) => () => ran.push(`turn ${i}`));
    const urgent = () => ran.push('urgent');
    waiting.forEach((j) => inFrameTurn(j));
    inFrameTurn(urgent);
    inNextFrame(urgent); // an answer's first text, or a final render catching up: it does not wait for a turn
    frame();
    expect(ran[0]).toBe('urgent');
    expect(ran.filter((r) => r === 'urgent')).toHaveLength(1);
    expect(ran).toHaveLength(1 + SHARED_PER_FRAME);
    waiting.forEach(cancelFrameJob);
  });

  it('runs jobs queued ahead (answers that ended) before the others, in the order they came, still one turn a frame', () => {
    const ran: string[] = [];
    const streaming = Array.from({ length: 3 }, (_, i) => () => ran.push(`streaming ${i}`));
    const ended = Array.from({ length: 2 }, (_, i) => () => ran.push(`ended ${i}`));
    streaming.forEach((j) => inFrameTurn(j));
    inFrameTurn(ended[0]!, true);
    inFrameTurn(streaming[2]!, true); // was waiting its turn, then ended: moves ahead
    inFrameTurn(ended[1]!, true);
    inFrameTurn(ended[0]!); // asked again without `ahead`: keeps its place ahead
    for (let f = 0; f < 5; f++) frame();
    expect(ran).toEqual(['ended 0', 'streaming 2', 'ended 1', 'streaming 0', 'streaming 1'].slice(0, 5 * SHARED_PER_FRAME));
    for (const j of [...streaming, ...ended]) cancelFrameJob(j);
  });

  it('forgets a cancelled job, whichever way it was queued', () => {
    let runs = 0;
    const a = () => (runs += 1);
    const b = () => (runs += 1);
    const c = () => (runs += 1);
    inNextFrame(a);
    inFrameTurn(b);
    inFrameTurn(c, true);
    cancelFrameJob(a);
    cancelFrameJob(b);
    cancelFrameJob(c);
    frame();
    expect(runs).toBe(0);
  });
});
