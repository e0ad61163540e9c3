// Offset math of one striped part (docs/architecture.md, Data layout: PVFS2 "simple stripe" with Reed–Solomon parity).
//
// A part of `size` bytes is cut into units of `unit` bytes; unit u goes to data slot u mod k, and a stripe is
// k consecutive units. Parity slot k+p holds parity unit p of every stripe. Datafiles hold exactly their own
// bytes: only the parity computation of the last, short stripe sees zero padding. Its shard size is the length
// of data slot 0's unit in that stripe (the longest one) rounded up to 8, because the Reed–Solomon library
// works on shards that are multiples of 8 bytes.
//
// Pure functions only; the writer and the reader both trust these, so they are tested exhaustively.

export interface StripeLayout {
  size: number;
  unit: number;
  k: number;
  m: number;
}

/** Inclusive range of local offsets inside one datafile. */
export interface LocalRange {
  start: number;
  end: number;
}

/** Small parts get a unit that is a multiple of this, so their bytes still spread over all k slots while
 *  their parity stays about size/k bytes per parity slot instead of a whole default unit. */
export const SMALL_UNIT_GRANULE = 4096;

export const MAX_K = 24; // @ronomon/reed-solomon limits
export const MAX_M = 6;

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/**
 * The layout of a new part. unit = min(defaultUnit, roundUp(ceil(size / k), 4096)), at least 4096 (or
 * defaultUnit if that is smaller): a part no bigger than k·defaultUnit becomes a single stripe whose units
 * are about size/k bytes, larger parts use defaultUnit.
 *
 * A part of at most `replicateUpTo` bytes is replicated instead: k = 1, so its m parity slots hold copies of
 * its one data slot. It survives the same m lost disks, while a PUT writes 1+m datafiles instead of k+m and a
 * GET reads one instead of k; per-datafile costs (a request, an fsync, a file) dominate small parts, and a
 * datafile takes whole filesystem blocks, so three copies of 16 KiB occupy about what six 4 KiB shards do.
 */
export function chooseLayout(size: number, k: number, m: number, defaultUnit: number, replicateUpTo = -1): StripeLayout {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad part size ${size}`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new RangeError(`k must be 1..${MAX_K}, got ${k}`);
  if (!Number.isInteger(m) || m < 0 || m > MAX_M) throw new RangeError(`m must be 0..${MAX_M}, got ${m}`);
  if (!Number.isSafeInteger(defaultUnit) || defaultUnit <= 0 || defaultUnit % 8 !== 0 || defaultUnit > 2 ** 31) {
    throw new RangeError(`stripe unit must be a positive multiple of 8, got ${defaultUnit}`);
  }
  const slots = size <= replicateUpTo ? 1 : k;
  const spread = Math.max(SMALL_UNIT_GRANULE, roundUp(Math.ceil(size / slots), SMALL_UNIT_GRANULE));
  return { size, unit: Math.min(defaultUnit, spread), k: slots, m };
}

/** Throws unless the layout could have come from chooseLayout (it is read back from metadata). */
export function validateLayout(layout: StripeLayout): void {
  const { size, unit, k, m } = layout;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad part size ${size}`);
  if (!Number.isSafeInteger(unit) || unit <= 0 || unit % 8 !== 0) throw new RangeError(`bad stripe unit ${unit}`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new RangeError(`bad k ${k}`);
  if (!Number.isInteger(m) || m < 0 || m > MAX_M) throw new RangeError(`bad m ${m}`);
}

export function stripeBytes(layout: StripeLayout): number {
  return layout.k * layout.unit;
}

export function stripeCount(layout: StripeLayout): number {
  return Math.ceil(layout.size / stripeBytes(layout));
}

/** Bytes of data slot `slot` in stripe `stripe`: unit for full stripes, 0..unit in the last one. */
export function dataUnitLength(layout: StripeLayout, stripe: number, slot: number): number {
  const begin = stripe * stripeBytes(layout) + slot * layout.unit;
  return Math.max(0, Math.min(layout.unit, layout.size - begin));
}

/** Parity shard size of a stripe: a multiple of 8, equal to unit except in a short last stripe. */
export function shardSize(layout: StripeLayout, stripe: number): number {
  return roundUp(dataUnitLength(layout, stripe, 0), 8);
}

/** Bytes that slot `slot` (data or parity) stores for stripe `stripe`. */
export function storedLength(layout: StripeLayout, stripe: number, slot: number): number {
  return slot < layout.k ? dataUnitLength(layout, stripe, slot) : shardSize(layout, stripe);
}

/** Exact length of a slot's datafile. */
export function datafileLength(layout: StripeLayout, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= layout.k + layout.m) throw new RangeError(`no slot ${slot} in ${layout.k}+${layout.m}`);
  const full = Math.floor(layout.size / stripeBytes(layout));
  return full * layout.unit + storedLength(layout, full, slot);
}

/** Where object byte `offset` of the part lives. */
export function locate(layout: StripeLayout, offset: number): { stripe: number; slot: number; local: number } {
  const unitIndex = Math.floor(offset / layout.unit);
  const stripe = Math.floor(unitIndex / layout.k);
  return { stripe, slot: unitIndex % layout.k, local: stripe * layout.unit + (offset - unitIndex * layout.unit) };
}

/**
 * The local bytes of data slot `slot` that hold part bytes [start, end] (inclusive). A slot's bytes are in
 * object order, so they form one contiguous local range; undefined when the slot holds none of them.
 */
export function slotLocalRange(layout: StripeLayout, slot: number, start: number, end: number): LocalRange | undefined {
  const { unit, k } = layout;
  if (end < start) return undefined;
  const firstUnit = Math.floor(start / unit);
  let localStart: number;
  if (firstUnit % k === slot) localStart = Math.floor(firstUnit / k) * unit + (start - firstUnit * unit);
  else localStart = Math.floor((firstUnit + ((slot - (firstUnit % k) + k) % k)) / k) * unit;
  const lastUnit = Math.floor(end / unit);
  let localEnd: number;
  if (lastUnit % k === slot) localEnd = Math.floor(lastUnit / k) * unit + (end - lastUnit * unit);
  else {
    const previous = lastUnit - (((lastUnit % k) - slot + k) % k);
    if (previous < 0) return undefined;
    localEnd = Math.floor(previous / k) * unit + unit - 1;
  }
  return localStart <= localEnd ? { start: localStart, end: localEnd } : undefined;
}
