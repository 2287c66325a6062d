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
