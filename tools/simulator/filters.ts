import { SimHttpError, NOT_SEARCHABLE } from './errors.js';
import { compareIds } from './ids.js';
import type { ColumnType } from './resources.js';
import { parseInstant, toIsoSeconds } from './time.js';

/**
 * `q[]` filters: `field:OPvalue` (Cliniko API docs, "Filtering Results").
 * `?` is "not null", `!?` "null", `*` "any value including null".
 */
export type FilterOp = '>' | '>=' | '<' | '<=' | '=' | '!=' | '~' | '~~' | '?' | '!?' | '*';

/** A parsed filter with a predicate over the column's raw value. */
export interface Filter {
  column: string;
  op: FilterOp;
  value: string;
  test(value: unknown): boolean;
}

// Longest first, so `>=` is not read as `>` followed by `=value`.
const VALUE_OPS = ['>=', '<=', '!=', '~~', '>', '<', '=', '~'] as const;

const OPS_BY_TYPE: Readonly<Record<ColumnType, readonly FilterOp[]>> = {
  datetime: ['>', '>=', '<', '<=', '?', '!?', '*'],
  date: ['=', '!=', '>', '>=', '<', '<=', '?', '!?', '*'],
  id: ['=', '!=', '>', '>=', '<', '<=', '?', '!?', '*'],
  int: ['=', '!=', '>', '>=', '<', '<=', '?', '!?', '*'],
  string: ['=', '!=', '~', '~~', '?', '!?', '*'],
};

/**
 * Parses one `q[]` value against the searchable columns of a list.
 * @throws SimHttpError 400 `This column is not searchable.` for other columns, 400 for a malformed
 *   filter, an operator the column type lacks, or a value of the wrong type.
 */
export function parseFilter(expr: string, columns: Readonly<Record<string, ColumnType>>): Filter {
  const colon = expr.indexOf(':');
  if (colon <= 0) throw new SimHttpError(400, `Invalid filter: ${expr}`);
  const column = expr.slice(0, colon);
  const rest = expr.slice(colon + 1);
  const type = columns[column];
  if (!type) throw new SimHttpError(400, NOT_SEARCHABLE);

  let op: FilterOp | undefined;
  let value = '';
  if (rest === '?' || rest === '!?' || rest === '*') op = rest;
  else {
    op = VALUE_OPS.find((candidate) => rest.startsWith(candidate));
    if (op) value = rest.slice(op.length);
  }
  if (!op || !OPS_BY_TYPE[type].includes(op)) {
    throw new SimHttpError(400, `Invalid filter operator for ${column}: ${expr}`);
  }
  return { column, op, value, test: predicate(type, op, value, expr) };
}

function predicate(type: ColumnType, op: FilterOp, value: string, expr: string): (v: unknown) => boolean {
  if (op === '*') return () => true;
  if (op === '?') return (v) => v !== null && v !== undefined;
  if (op === '!?') return (v) => v === null || v === undefined;
  const invalid = () => new SimHttpError(400, `Invalid filter value: ${expr}`);

  switch (type) {
    case 'datetime': {
      const target = parseInstant(value);
      if (target === undefined) throw invalid();
      // Stored values are whole seconds, so against them `>= t` means `>= ceil(t)` and `> t` means
      // `>= floor(t) + 1 s`: a text comparison, with no date parsing per record.
      const ceil = toIsoSeconds(Math.ceil(target / 1000) * 1000);
      const afterFloor = toIsoSeconds(Math.floor(target / 1000) * 1000 + 1000);
      const bound = op === '>=' || op === '<' ? ceil : afterFloor;
      const above = op === '>=' || op === '>';
      return (v) => {
        if (typeof v !== 'string') return false;
        if (v.length !== 20 || bound.length !== 20) {
          const ms = Date.parse(v);
          return !Number.isNaN(ms) && compareWith(op, ms - target);
        }
        return above ? v >= bound : v < bound;
      };
    }
    case 'id': {
      const targets = (op === '=' ? value.split(',') : [value]).map((part) => canonicalInteger(part.trim()));
      if (targets.some((t) => t === undefined)) throw invalid();
      const list = targets as string[];
      if (op === '=') {
        const set = new Set(list);
        // Stored ids are canonical strings already.
        return (v) => typeof v === 'string' && set.has(v);
      }
      const target = list[0] as string;
      return (v) => typeof v === 'string' && compareWith(op, compareIds(v, target));
    }
    case 'int': {
      const targets = (op === '=' ? value.split(',') : [value]).map((part) => Number(part.trim()));
      if (targets.some((t) => !Number.isInteger(t)) || value.trim() === '') throw invalid();
      if (op === '=') return (v) => typeof v === 'number' && targets.includes(v);
      const target = targets[0] as number;
      return (v) => typeof v === 'number' && compareWith(op, v - target);
    }
    case 'date': {
      if (!/^[\d*]{4}-[\d*]{2}-[\d*]{2}$/.test(value)) throw invalid();
      if (value.includes('*')) {
        if (op !== '=' && op !== '!=') throw invalid();
        const pattern = new RegExp(`^${value.replace(/\*/g, '\\d')}$`);
        return (v) => typeof v === 'string' && pattern.test(v) === (op === '=');
      }
      // YYYY-MM-DD strings order like the dates they name.
      return (v) => typeof v === 'string' && compareWith(op, v < value ? -1 : v > value ? 1 : 0);
    }
    case 'string': {
      if (op === '=') return (v) => v === value;
      // SQL semantics: NULL != 'x' is not true.
      if (op === '!=') return (v) => v !== null && v !== undefined && v !== value;
      // Contains and wildcard are case-insensitive, like Postgres ILIKE; contains is `%value%`.
      const pattern = op === '~' ? `%${value}%` : value;
      const regex = new RegExp(`^${pattern.split('%').map(escapeRegex).join('.*')}$`, 'is');
      return (v) => typeof v === 'string' && regex.test(v);
    }
  }
}

function compareWith(op: FilterOp, diff: number): boolean {
  switch (op) {
    case '>':
      return diff > 0;
    case '>=':
      return diff >= 0;
    case '<':
      return diff < 0;
    case '<=':
      return diff <= 0;
    case '=':
      return diff === 0;
    case '!=':
      return diff !== 0;
    default:
      return false;
  }
}

function canonicalInteger(text: string): string | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  return BigInt(text).toString();
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
