/**
 * Numbers as Go's expfmt prints them (strconv.FormatFloat(v, 'g', -1, 64)): the shortest digits
 * that read back to the same double, in exponent form when the exponent is below -4 or at least 6
 * (`1.8e+06`, `2e-05`), and `+Inf`, `-Inf`, `NaN`. JavaScript's shortest digits are the same.
 */
export function formatGoFloat(value: number): string {
  // The common case, an integer below a million, prints as JavaScript prints it.
  if (Number.isInteger(value) && value < 1e6 && value > -1e6) return value === 0 ? '0' : String(value);
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const sign = value < 0 ? '-' : '';
  const exponential = Math.abs(value).toExponential();
  const e = exponential.indexOf('e');
  const digits = exponential.slice(0, e).replace('.', '');
  const exponent = Number(exponential.slice(e + 1));
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = exponent + 1;
  if (digits.length <= whole) return `${sign}${digits}${'0'.repeat(whole - digits.length)}`;
  return `${sign}${digits.slice(0, whole)}.${digits.slice(whole)}`;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;

/** Go's strconv.ParseFloat as expfmt's parser uses it (no hex floats, no underscores); undefined when it is not a number. */
export function parseGoFloat(text: string): number | undefined {
  if (isDigits(text)) return Number(text);
  if (DECIMAL.test(text)) return Number(text);
  if (INFINITY.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  return undefined;
}

/** Most values are plain integers: no regular expression for those. */
function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** parseGoFloat of text[start, end), without making a string of a plain integer (most values are). */
export function parseGoFloatAt(text: string, start: number, end: number): number | undefined {
  if (end > start && end - start <= 15) {
    let integer = 0;
    let i = start;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      integer = integer * 10 + (c - 48);
    }
    if (i === end) return integer;
  }
  return parseGoFloat(text.slice(start, end));
}
