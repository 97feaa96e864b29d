import { SimHttpError } from './errors.js';

export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 100;

/** The page a list request asks for. */
export interface Paging {
  page: number;
  perPage: number;
}

/**
 * Reads `page` (from 1) and `per_page` (1–100, default 50) (README "Pagination"). Values out of
 * range or not integers are rejected with 400 rather than clamped, so a client asking for more than
 * it can get finds out.
 */
export function parsePaging(params: URLSearchParams): Paging {
  return {
    page: intParam(params, 'page', 1, 1, Number.MAX_SAFE_INTEGER),
    perPage: intParam(params, 'per_page', DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
  };
}

function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new SimHttpError(400, `${name} must be an integer between ${min} and ${max}`);
  }
  return value;
}

/** `links.self`, `links.next`, `links.previous` of a list page. */
export interface PageLinks {
  self: string;
  next?: string;
  previous?: string;
}

/**
 * Absolute page links built from the request's own URL, keeping every query parameter, so following
 * `links.next` works wherever the simulator listens. `next` and `previous` appear only when there
 * is such a page.
 */
export function pageLinks(url: URL, { page, perPage }: Paging, total: number): PageLinks {
  const at = (p: number) => {
    const link = new URL(url);
    link.searchParams.set('page', String(p));
    return link.toString();
  };
  const links: PageLinks = { self: at(page) };
  if (page * perPage < total) links.next = at(page + 1);
  if (page > 1) links.previous = at(page - 1);
  return links;
}
