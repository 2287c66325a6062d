// Owns calendar dates without times or time zones: parsing DD.MM.YYYY, comparing, and moving
// by whole years, which Date arithmetic gets wrong around 29 February.

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

// Day and month take one or two digits, as Python's strptime('%d.%m.%Y') in the course template did.
const DATE_PATTERN = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** A real calendar date written DD.MM.YYYY, or null. */
export function parseDate(text: string): CalendarDate | null {
  const match = DATE_PATTERN.exec(text);
  if (match === null) return null;
  const day = Number(match[1]);
  const month = Number(match[2]);
  const year = Number(match[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** The years parseDate takes are written with exactly this many digits. */
const YEAR_DIGITS = 4;
/** A common year and a leap year, to ask daysInMonth how long each month is. */
const COMMON_YEAR = 2001;
const LEAP_YEAR = 2004;
const MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);

/** The texts of the numbers 1 to `last` (10 to 39), in one or two digits ("7" or "07"). */
function oneTo(last: number): string {
  const tens = Math.floor(last / 10);
  const units = last % 10;
  const digits = (low: number, high: number) => (low === high ? `${low}` : `[${low}-${high}]`);
  const below = tens > 1 ? [`${digits(1, tens - 1)}[0-9]`] : [];
  return ['0?[1-9]', ...below, `${tens}${digits(0, units)}`].join('|');
}

const monthText = (month: number) => (month < 10 ? `0?${month}` : String(month));

/**
 * The texts parseDate takes, exactly, as one regular expression (ECMAScript, as JSON Schema's
 * `pattern` is): each month with the days it has in a common year, 29 February in leap years
 * only, and the years 1 to 9999. A document that cannot run parseDate states it with this.
 */
function calendarDatePattern(): string {
  const byLength = new Map<number, number[]>();
  for (const month of MONTHS) {
    const days = daysInMonth(COMMON_YEAR, month);
    byLength.set(days, [...(byLength.get(days) ?? []), month]);
  }
  const commonDays = [...byLength].map(
    ([days, months]) => `(?:${oneTo(days)})\\.(?:${months.map(monthText).join('|')})`,
  );
  const anyYear = Array.from({ length: YEAR_DIGITS }, (_, i) => {
    const zeros = YEAR_DIGITS - 1 - i;
    return `${i > 0 ? `[0-9]{${i}}` : ''}[1-9]${'0'.repeat(zeros)}`;
  }).join('|');
  // Divisible by 4: the last two digits (not 00) or, for centuries, the first two (then by 400).
  const byFour = '0[48]|[2468][048]|[13579][26]';
  const leapYear = `[0-9]{2}(?:${byFour})|(?:${byFour})00`;
  const leapDay = `${daysInMonth(LEAP_YEAR, 2)}\\.${monthText(2)}`;
  return `^(?:(?:${commonDays.join('|')})\\.(?:${anyYear})|${leapDay}\\.(?:${leapYear}))$`;
}

export const CALENDAR_DATE_PATTERN = calendarDatePattern();

export function formatDate(date: CalendarDate): string {
  const dd = String(date.day).padStart(2, '0');
  const mm = String(date.month).padStart(2, '0');
  return `${dd}.${mm}.${String(date.year).padStart(4, '0')}`;
}

export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/** The same day `years` earlier; 29 February becomes 28 February in a common year. */
export function yearsBefore(date: CalendarDate, years: number): CalendarDate {
  const year = date.year - years;
  return { year, month: date.month, day: Math.min(date.day, daysInMonth(year, date.month)) };
}

/** The server's local calendar date at `instant`. */
export function localDate(instant: Date): CalendarDate {
  return { year: instant.getFullYear(), month: instant.getMonth() + 1, day: instant.getDate() };
}
