/** What was wrong with a mask or polygon handed to common/geometry. */
export type GeometryErrorCode = 'bad-size' | 'bad-polygon' | 'bad-option';

/** Thrown for malformed masks, rings and options; `code` says which kind, the message says where. */
export class GeometryError extends Error {
  readonly code: GeometryErrorCode;

  constructor(code: GeometryErrorCode, message: string) {
    super(message);
    this.name = 'GeometryError';
    this.code = code;
  }
}
