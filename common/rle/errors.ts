/** What was wrong with an RLE, a polygon or a pair of masks. */
export type RleErrorCode = 'bad-size' | 'bad-counts' | 'bad-string' | 'size-mismatch' | 'bad-polygon';

/** Thrown for malformed masks, RLEs and polygons; `code` says which kind of problem, the message says where. */
export class RleError extends Error {
  readonly code: RleErrorCode;

  constructor(code: RleErrorCode, message: string) {
    super(message);
    this.name = 'RleError';
    this.code = code;
  }
}
