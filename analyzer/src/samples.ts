/**
 * Distributions and time series whose memory does not grow with the capture.
 *
 * Samples keeps the first EXACT_LIMIT values exactly (small flows get exact
 * percentiles); past that they move into a log-linear histogram of
 * SUB_BUCKETS buckets per power of two, so a percentile is reported as its
 * bucket's midpoint, within 1/(2·SUB_BUCKETS) = 0.2 % of the true value.
 * Count, minimum, maximum and mean stay exact. A power of two gets its
 * buckets only once a value falls in it: a flow's delays span a few octaves,
 * so a histogram costs a few KiB, not the 13 000 buckets of the whole range.
 */

const EXACT_LIMIT = 512;
/** Must stay 256: count1 takes the top 8 mantissa bits. */
const SUB_BUCKETS = 256;
/** Values are ns; 2^50 ns is 13 days, beyond any delay PDM can carry that matters. */
const OCTAVES = 51;

export interface Distribution {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export class Samples {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  private exact: Float64Array | null = new Float64Array(64);
  /** Per octave (index 0: values below 1 ns), SUB_BUCKETS counters, allocated on first use. */
  private buckets: Array<Uint32Array | undefined> | null = null;
  /** The exact values sorted, kept until the next add (reports ask for several quantiles). */
  private sorted: Float64Array | null = null;

  add(v: number): void {
    this.sorted = null;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const exact = this.exact;
    if (exact !== null) {
      const n = this.count - 1;
      if (n < exact.length) {
        exact[n] = v;
        return;
      }
      if (n < EXACT_LIMIT) {
        const grown = new Float64Array(exact.length * 2);
        grown.set(exact);
        grown[n] = v;
        this.exact = grown;
        return;
      }
      this.toHistogram(n);
    }
    this.count1(v);
  }

  private count1(v: number): void {
    // The octave is the double's binary exponent and the bucket its top 8 mantissa bits: no log2 per sample.
    let octave = 0;
    let sub = 0;
    if (v >= 1) {
      F64[0] = v;
      const hi = U32[HI]!;
      const e = (hi >>> 20) - 1023;
      if (e >= OCTAVES) {
        octave = OCTAVES;
        sub = SUB_BUCKETS - 1;
      } else {
        octave = e + 1;
        sub = (hi >>> 12) & 0xff;
      }
    }
    const row = this.buckets![octave] ?? this.newOctave(octave);
    row[sub]!++;
    row[SUB_BUCKETS]!++;
  }

  private newOctave(octave: number): Uint32Array {
    // One more counter after the buckets: the octave's total, so a quantile skips whole octaves.
    return (this.buckets![octave] = new Uint32Array(SUB_BUCKETS + 1));
  }

  private toHistogram(n: number): void {
    this.buckets = new Array<Uint32Array | undefined>(OCTAVES + 2).fill(undefined);
    const exact = this.exact!;
    this.exact = null;
    for (let i = 0; i < n; i++) this.count1(exact[i]!);
  }

  merge(other: Samples): void {
    if (other.count === 0) return;
    if (other.exact !== null) {
      const values = other.exact.subarray(0, other.count);
      for (const v of values) this.add(v);
      return;
    }
    if (this.exact !== null) this.toHistogram(this.count);
    this.sorted = null;
    const b = this.buckets!;
    const o = other.buckets!;
    for (let k = 0; k < o.length; k++) {
      const src = o[k];
      if (!src) continue;
      const dst = b[k] ?? this.newOctave(k);
      for (let i = 0; i <= SUB_BUCKETS; i++) dst[i]! += src[i]!;
    }
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at quantile q (0..1): nearest rank, as RFC 2330-style reports use. */
  quantile(q: number): number | null {
    return this.count === 0 ? null : this.quantiles([q])[0]!;
  }

  /** Values at the quantiles `qs` (ascending), in one pass over the histogram; empty without samples. */
  quantiles(qs: readonly number[]): number[] {
    if (this.count === 0) return [];
    const ranks = qs.map((q) => Math.max(1, Math.ceil(q * this.count)));
    if (this.exact !== null) {
      const sorted = (this.sorted ??= Float64Array.from(this.exact.subarray(0, this.count)).sort());
      return ranks.map((rank) => sorted[rank - 1]!);
    }
    const out: number[] = [];
    const b = this.buckets!;
    let seen = 0;
    let next = 0;
    for (let k = 0; k < b.length && next < ranks.length; k++) {
      const row = b[k];
      if (!row) continue;
      if (seen + row[SUB_BUCKETS]! < ranks[next]!) {
        seen += row[SUB_BUCKETS]!;
        continue;
      }
      for (let i = 0; i < SUB_BUCKETS && next < ranks.length; i++) {
        seen += row[i]!;
        while (next < ranks.length && seen >= ranks[next]!) {
          const rank = ranks[next++]!;
          out.push(rank === this.count ? this.max : Math.min(this.max, Math.max(this.min, bucketMid(k === 0 ? 0 : 1 + (k - 1) * SUB_BUCKETS + i))));
        }
      }
    }
    while (out.length < ranks.length) out.push(this.max);
    return out;
  }

  summary(): Distribution {
    if (this.count === 0) return { count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null };
    const [p50, p95, p99] = this.quantiles([0.5, 0.95, 0.99]);
    return { count: this.count, min: this.min, mean: this.sum / this.count, p50: p50!, p95: p95!, p99: p99!, max: this.max };
  }

  /** Cumulative distribution at up to `points` values: [value, fraction ≤ value] pairs, for plots. */
  cdf(points = 200): Array<[number, number]> {
    const qs = Array.from({ length: points }, (_, i) => (i + 1) / points);
    const values = this.quantiles(qs);
    return values.map((v, i) => [v, qs[i]!]);
  }
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the high word of a double in U32 (little-endian machines: 1). */
const HI = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

function bucketMid(i: number): number {
  if (i === 0) return 0.5;
  const e = Math.floor((i - 1) / SUB_BUCKETS);
  const sub = (i - 1) % SUB_BUCKETS;
  const base = 2 ** e;
  return base + ((sub + 0.5) / SUB_BUCKETS) * base;
}

/** One bin of a direction's series: means and maxima of its deltas (ns), PSN-derived loss. */
export interface SeriesRow {
  /** Bin start, ns since the capture's first packet. */
  t: number;
  packets: number;
  tls: number | null;
  tlsMax: number | null;
  tlr: number | null;
  tlrMax: number | null;
  net: number | null;
  lost: number;
  duplicates: number;
}

/** Columns of one time-series bin. */
export const enum Col {
  Packets,
  Pdm,
  TlsSum,
  TlsCount,
  TlsMax,
  TlrSum,
  TlrCount,
  TlrMax,
  NetSum,
  NetCount,
  /** PSNs skipped over when a packet arrived ahead of the next expected one. */
  Gaps,
  /** Packets that filled an earlier gap (reordered, not lost after all). */
  Fills,
  Duplicates,
}
const COLS = 13;

/**
 * Shared bin width for every series of a capture. It starts fine and doubles
 * whenever the capture outgrows MAX_BINS bins, so a series never holds more
 * than MAX_BINS bins whatever the capture's length.
 */
export class SeriesClock {
  static readonly MAX_BINS = 256;
  binNs = 1e7;
  // The bin of the last packet: captures are in time order, so nearly every packet falls in it.
  private start = 0;
  private end = -1;
  private bin = 0;

  binOf(relNs: number): number {
    if (relNs >= this.start && relNs < this.end) return this.bin;
    let bin = Math.floor(relNs / this.binNs);
    while (bin >= SeriesClock.MAX_BINS) {
      this.binNs *= 2;
      bin = Math.floor(relNs / this.binNs);
    }
    if (bin < 0) return 0;
    this.bin = bin;
    this.start = bin * this.binNs;
    this.end = this.start + this.binNs;
    return bin;
  }
}

export class Series {
  private binNs: number;
  data = new Float64Array(16 * COLS);
  bins = 0;

  constructor(private readonly clock: SeriesClock) {
    this.binNs = clock.binNs;
  }

  /** Row offset of the bin for `relNs` in `data` (grows and re-bins as needed). */
  row(relNs: number): number {
    return this.rowOfBin(this.clock.binOf(relNs));
  }

  /** Row offset of a bin the clock gave (binOf) in `data`. */
  rowOfBin(bin: number): number {
    if (this.binNs !== this.clock.binNs) this.catchUp();
    if (bin >= this.bins) this.extend(bin);
    return bin * COLS;
  }

  private extend(bin: number): void {
    if ((bin + 1) * COLS > this.data.length) {
      let size = this.data.length;
      while ((bin + 1) * COLS > size) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.data);
      this.data = grown;
    }
    this.bins = bin + 1;
  }

  /** Merges bin pairs until this series uses the clock's current width. */
  private catchUp(): void {
    while (this.binNs < this.clock.binNs) {
      const d = this.data;
      const half = Math.ceil(this.bins / 2);
      for (let b = 0; b < half; b++) {
        const a = 2 * b * COLS;
        const c = (2 * b + 1) * COLS;
        const hasC = 2 * b + 1 < this.bins;
        for (let k = 0; k < COLS; k++) {
          const x = d[a + k]!;
          const y = hasC ? d[c + k]! : 0;
          d[b * COLS + k] = k === Col.TlsMax || k === Col.TlrMax ? Math.max(x, y) : x + y;
        }
      }
      d.fill(0, half * COLS, this.bins * COLS);
      this.bins = half;
      this.binNs *= 2;
    }
  }

  merge(other: Series): void {
    this.catchUp();
    other.catchUp();
    if (other.bins > this.bins) this.row((other.bins - 1) * this.binNs);
    for (let i = 0; i < other.bins * COLS; i++) {
      const k = i % COLS;
      this.data[i] = k === Col.TlsMax || k === Col.TlrMax ? Math.max(this.data[i]!, other.data[i]!) : this.data[i]! + other.data[i]!;
    }
  }

  /** Bins as plain rows for reports. */
  rows(): SeriesRow[] {
    this.catchUp();
    const out: SeriesRow[] = [];
    const d = this.data;
    for (let b = 0; b < this.bins; b++) {
      const r = b * COLS;
      out.push({
        t: b * this.binNs,
        packets: d[r + Col.Packets]!,
        tls: d[r + Col.TlsCount]! ? d[r + Col.TlsSum]! / d[r + Col.TlsCount]! : null,
        tlsMax: d[r + Col.TlsCount]! ? d[r + Col.TlsMax]! : null,
        tlr: d[r + Col.TlrCount]! ? d[r + Col.TlrSum]! / d[r + Col.TlrCount]! : null,
        tlrMax: d[r + Col.TlrCount]! ? d[r + Col.TlrMax]! : null,
        net: d[r + Col.NetCount]! ? d[r + Col.NetSum]! / d[r + Col.NetCount]! : null,
        lost: d[r + Col.Gaps]! - d[r + Col.Fills]!,
        duplicates: d[r + Col.Duplicates]!,
      });
    }
    // A late packet fills a gap opened earlier: take it off the latest earlier bins that counted a loss.
    const open: number[] = [];
    for (let b = 0; b < out.length; b++) {
      let late = -out[b]!.lost;
      if (late <= 0) {
        if (out[b]!.lost > 0) open.push(b);
        continue;
      }
      out[b]!.lost = 0;
      while (late > 0 && open.length > 0) {
        const prev = out[open[open.length - 1]!]!;
        const take = Math.min(late, prev.lost);
        prev.lost -= take;
        late -= take;
        if (prev.lost === 0) open.pop();
      }
    }
    return out;
  }

  get width(): number {
    this.catchUp();
    return this.binNs;
  }
}
