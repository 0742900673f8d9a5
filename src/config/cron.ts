// Checks a cron expression before it reaches Temporal, so a typo stops startup with a message
// naming the variable instead of failing later inside the schedule.

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

const SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Throws with a readable message unless `expr` is a 5-field cron expression (or @daily etc.). */
export function assertCron(expr: string): void {
  const text = expr.trim();
  if (SHORTHANDS.includes(text.toLowerCase())) return;
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`"${expr}" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`);
  parts.forEach((part, i) => {
    const field = FIELDS[i];
    const value = (v: string): number => {
      const named = 'names' in field ? field.names.indexOf(v.toUpperCase() as never) : -1;
      const n = named >= 0 ? named + field.min : /^\d+$/.test(v) ? Number(v) : NaN;
      if (!(n >= field.min && n <= field.max)) throw new Error(`cron ${field.name} "${part}": "${v}" is not in ${field.min}-${field.max}`);
      return n;
    };
    for (const item of part.split(',')) {
      const [range, step, extra] = item.split('/');
      if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) throw new Error(`cron ${field.name} "${part}": bad step in "${item}"`);
      if (range === '*') continue;
      const [from, to, more] = range.split('-');
      if (more !== undefined) throw new Error(`cron ${field.name} "${part}": bad range "${range}"`);
      if (to !== undefined && value(from) > value(to)) throw new Error(`cron ${field.name} "${part}": range "${range}" runs backwards`);
      value(from);
    }
  });
}
