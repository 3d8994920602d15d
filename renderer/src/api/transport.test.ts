import { describe, expect, it } from 'vitest';
import { reconnectDelay, tokenFromLocation } from './transport.js';

describe('web transport helpers', () => {
  it('reads the token from the query string, then the hash', () => {
    expect(tokenFromLocation({ search: '?token=abc', hash: '' })).toBe('abc');
    expect(tokenFromLocation({ search: '', hash: '#token=xyz' })).toBe('xyz');
    expect(tokenFromLocation({ search: '?other=1', hash: '' })).toBeNull();
  });

  it('backs off reconnects up to five seconds', () => {
    expect(reconnectDelay(0)).toBe(250);
    expect(reconnectDelay(1)).toBe(500);
    expect(reconnectDelay(10)).toBe(5000);
  });
});
