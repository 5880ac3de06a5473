/**
 * Which way through a layer a testing filter acts: `'in'` on bytes read from
 * below (what the peer sent), `'out'` on bytes written down (what this end
 * sends), `'both'` on each direction separately.
 */
export type Direction = 'in' | 'out' | 'both';

/** Whether a filter configured for `direction` acts on `side`. */
export function actsOn(direction: Direction, side: 'in' | 'out'): boolean {
  return direction === 'both' || direction === side;
}
