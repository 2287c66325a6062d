// Owns the bench's progress on stderr: the task being measured (a scenario, or the shop SLI),
// which run of how many, and the time left for the whole invocation, estimated from the planned
// durations and corrected by how long the finished tasks really took. On a terminal one line is
// rewritten in place (and every other stderr line goes through here, so none is written over
// it); elsewhere, as in CI, one plain line is printed as each task starts. stdout is not touched.

/** One scenario (or the SLI) in one run, as the bench plans it. */
export interface PlannedTask {
  readonly run: number;
  readonly name: string;
  /** Warm-up, load and settling, in seconds: what the options say it will take. */
  readonly seconds: number;
}

/** The part of a stream the progress writes to (process.stderr). */
export interface ProgressStream {
  write(text: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  readonly tasks: readonly PlannedTask[];
  readonly runs: number;
  readonly stream: ProgressStream;
  /** Milliseconds; performance.now by default. */
  readonly now?: () => number;
}

/** How often the terminal line is redrawn, so that the clocks on it move. */
const REDRAW_MS = 1_000;
/** The correction of the plan is held within these factors: one odd task must not swing it. */
const FACTOR_MIN = 0.5;
const FACTOR_MAX = 5;
/** A terminal that says nothing of its width is taken to be this wide. */
const COLUMNS_DEFAULT = 100;
const CLEAR_LINE = '\r\x1b[2K';

/** 75 as "1:15", 3,725 as "1:02:05". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, rest] = [Math.floor(s / 3_600), Math.floor((s % 3_600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(rest)}` : `${m}:${two(rest)}`;
}

export interface Finished {
  readonly task: PlannedTask;
  readonly actualSeconds: number;
}

/**
 * The seconds left, from task `from` on: each takes what the same task took in an earlier run if
 * it has run, else its planned time scaled by how the finished tasks compared with their plans;
 * the first of them, if it is under way (`elapsedSeconds`), that estimate less the time it has
 * already taken, never below 0.
 */
export function secondsLeft(
  tasks: readonly PlannedTask[],
  finished: readonly Finished[],
  from: number,
  elapsedSeconds: number | null,
): number {
  const planned = finished.reduce((n, f) => n + f.task.seconds, 0);
  const actual = finished.reduce((n, f) => n + f.actualSeconds, 0);
  const factor = planned > 0 ? Math.min(FACTOR_MAX, Math.max(FACTOR_MIN, actual / planned)) : 1;
  const estimate = (task: PlannedTask) => {
    const same = finished.filter((f) => f.task.name === task.name);
    return same.length > 0
      ? same.reduce((n, f) => n + f.actualSeconds, 0) / same.length
      : task.seconds * factor;
  };
  return tasks.slice(from).reduce((left, task, i) => {
    const whole = estimate(task);
    return (
      left + (i === 0 && elapsedSeconds !== null ? Math.max(0, whole - elapsedSeconds) : whole)
    );
  }, 0);
}

export class Progress {
  readonly #tasks: readonly PlannedTask[];
  readonly #runs: number;
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #tty: boolean;
  readonly #finished: Finished[] = [];
  readonly #startedAt: number;
  #current: { index: number; startedAt: number; steps: number } | null = null;
  /** The first task not begun yet. */
  #next = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Whether the status line is on the screen (terminal only). */
  #shown = false;

  constructor(options: ProgressOptions) {
    this.#tasks = options.tasks;
    this.#runs = options.runs;
    this.#stream = options.stream;
    this.#now = options.now ?? (() => performance.now());
    this.#tty = options.stream.isTTY === true;
    this.#startedAt = this.#now();
  }

  /** The task `name` of run `run` starts; a task not planned is ignored. */
  begin(run: number, name: string): void {
    const index = this.#tasks.findIndex(
      (t, i) => i >= this.#next && t.run === run && t.name === name,
    );
    if (index < 0) return;
    this.#next = index + 1;
    this.#current = { index, startedAt: this.#now(), steps: 0 };
    if (this.#tty) {
      this.#timer ??= setInterval(() => this.#draw(), REDRAW_MS).unref();
      this.#draw();
    } else {
      this.#stream.write(`progress: ${this.status()}\n`);
    }
  }

  /** A step inside the current task finished (the SLI's rates): shown on the terminal line. */
  step(): void {
    if (!this.#current) return;
    this.#current.steps += 1;
    if (this.#tty) this.#draw();
  }

  /** The current task finished. */
  done(): void {
    const current = this.#current;
    const task = current && this.#tasks[current.index];
    if (!current || !task) return;
    this.#finished.push({ task, actualSeconds: (this.#now() - current.startedAt) / 1_000 });
    this.#current = null;
    if (this.#tty) this.#draw();
  }

  /** A line of the bench's own log, written above the status line. */
  log(line: string): void {
    if (this.#tty && this.#shown) this.#stream.write(CLEAR_LINE);
    this.#shown = false;
    this.#stream.write(`${line}\n`);
    if (this.#tty && this.#current) this.#draw();
  }

  /** Clears the status line and stops redrawing it: before the report goes to stdout. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#tty && this.#shown) this.#stream.write(CLEAR_LINE);
    this.#shown = false;
    this.#current = null;
  }

  /** "[3/12] run 1/3 score-miss 0:07 · 4:40 elapsed · about 9:10 left". */
  status(): string {
    const now = this.#now();
    const current = this.#current;
    const elapsed = (now - this.#startedAt) / 1_000;
    const inTask = current ? (now - current.startedAt) / 1_000 : 0;
    const left = current
      ? secondsLeft(this.#tasks, this.#finished, current.index, inTask)
      : secondsLeft(this.#tasks, this.#finished, this.#next, null);
    const task = current ? this.#tasks[current.index] : undefined;
    const position = `[${Math.min((current?.index ?? this.#next) + 1, this.#tasks.length)}/${this.#tasks.length}]`;
    const what = task
      ? `run ${task.run}/${this.#runs} ${task.name}${current?.steps ? ` step ${current.steps + 1}` : ''}` +
        (this.#tty ? ` ${clock(inTask)}` : '')
      : 'between tasks';
    return `${position} ${what} · ${clock(elapsed)} elapsed · about ${clock(left)} left`;
  }

  #draw(): void {
    const width = (this.#stream.columns ?? COLUMNS_DEFAULT) - 1;
    const text = this.status();
    this.#stream.write(`${CLEAR_LINE}${text.length > width ? text.slice(0, width) : text}`);
    this.#shown = true;
  }
}
