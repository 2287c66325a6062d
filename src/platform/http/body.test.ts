import { expect, test } from 'vitest';
import { cases } from '../../../test/support/cases.ts';
import { BodyEncodingError, utf8Text } from './body.ts';

test('decodes UTF-8, every plane included', () => {
  const text = '{"name":"Zoë 名前 🙂"}';
  expect(utf8Text(Buffer.from(text))).toBe(text);
});

test('drops a leading byte order mark, as RFC 8259 lets a parser do', () => {
  expect(utf8Text(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe('{}');
});

cases(
  'refuses what is not UTF-8 instead of reading it as U+FFFD',
  [
    [0xff],
    [0xfe],
    [0x80],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe2, 0x82],
  ],
  (bytes) => {
    const body = Buffer.concat([Buffer.from('"a'), Buffer.from(bytes), Buffer.from('"')]);
    expect(() => utf8Text(body)).toThrow(BodyEncodingError);
  },
);
