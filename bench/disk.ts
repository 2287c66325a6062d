// Owns the watch on PostgreSQL's WAL disk during a load step: the longest time the device had
// I/O pending and completed none, read from Linux's /proc/diskstats (null elsewhere, or when the
// server's directory is not on this machine), so that a missed budget can be placed on the disk.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { withClient } from './database.ts';

/** How often the device's counters are read: the stall is known to within this. */
const SAMPLE_MS = 10;

/** /proc/diskstats' name for the device holding PostgreSQL's pg_wal, or null if unknown. */
export async function walDevice(databaseUrl: string): Promise<string | null> {
  try {
    const dataDirectory = await withClient(databaseUrl, async (client) => {
      const result = await client.query<{ data_directory: string }>('SHOW data_directory');
      return result.rows[0]?.data_directory ?? '';
    });
    // pg_wal may be a link to another device; stat follows it.
    const dev = statSync(join(dataDirectory, 'pg_wal')).dev;
    // Linux's dev_t: the major number in bits 8–19 (and 32+), the minor in 0–7 and 20+.
    const major = Math.floor(dev / 256) % 4096;
    const minor = (dev % 256) + Math.floor(dev / 1_048_576) * 256;
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const [maj, min, name] = line.trim().split(/\s+/);
      if (Number(maj) === major && Number(min) === minor && name) return name;
    }
    return null;
  } catch {
    return null;
  }
}

interface Counters {
  /** Reads and writes completed so far. */
  readonly completed: number;
  readonly inFlight: number;
}

function counters(device: string): Counters | null {
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[2] !== device) continue;
    // After major, minor and name: reads completed is the 1st field, writes completed the 5th,
    // I/Os currently in progress the 9th.
    return { completed: Number(fields[3]) + Number(fields[7]), inFlight: Number(fields[11]) };
  }
  return null;
}

/** Starts watching `device`; the returned stop() gives the longest stall seen, in ms. */
export function watchDisk(device: string | null): () => number | null {
  const first = device === null ? null : counters(device);
  if (device === null || first === null) return () => null;
  let last = first;
  let lastAt = performance.now();
  let stalledSince: number | null = null;
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const current = counters(device);
    if (current === null) return;
    // I/O pending at both readings and none completed between them: what was pending at the
    // first was still pending at the second, so the device finished nothing all that time.
    if (current.completed === last.completed && last.inFlight > 0 && current.inFlight > 0) {
      stalledSince ??= lastAt;
      longest = Math.max(longest, now - stalledSince);
    } else {
      stalledSince = null;
    }
    last = current;
    lastAt = now;
  }, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    return longest;
  };
}
