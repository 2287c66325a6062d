// Owns how a request body becomes text for the APIs' JSON parsers: always decoded here, once, as
// strict UTF-8, so that bytes which are not UTF-8 are refused rather than read as U+FFFD (two
// different names, `u8\xff` and `u8\xfe`, would otherwise be one and the same account).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Marks a scope's parser as the reader of every body, whatever its Content-Type says. */
export const ANY_CONTENT_TYPE = '*';

// JSON text exchanged between systems must be UTF-8 (RFC 8259, section 8.1). `fatal` makes the
// decoder throw on the first byte sequence that is not UTF-8 instead of replacing it; a leading
// byte order mark is dropped, which RFC 8259 allows a parser to do.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body's bytes are not UTF-8 text. */
export class BodyEncodingError extends SyntaxError {
  override name = 'BodyEncodingError';
  constructor() {
    super('the body is not UTF-8 text');
  }
}

/** The body's bytes as text; throws BodyEncodingError when they are not UTF-8. */
export function utf8Text(body: Uint8Array): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new BodyEncodingError();
  }
}

export interface TextBodyParser {
  /** Largest body read, in bytes; the app's or the route's own limit when unset. */
  readonly bodyLimit?: number;
  /** Turns the body's text into the request's body; throws when it cannot. */
  read(text: string): unknown;
  /**
   * The error the client is answered with (through the scope's error handler) when `read` threw
   * it, or when the body was not UTF-8 (a BodyEncodingError).
   */
  refuse(error: Error): Error;
}

/**
 * Registers the scope's parser of `contentType` bodies: `read` is given the body decoded by
 * utf8Text. With ANY_CONTENT_TYPE it replaces every other parser of the scope and the
 * Content-Type is not looked at, so that even an empty or malformed one (which Fastify would
 * answer with 415 before any parser ran) is read as no Content-Type is.
 */
export function addTextBodyParser(
  app: FastifyInstance,
  contentType: string,
  parser: TextBodyParser,
): void {
  if (contentType === ANY_CONTENT_TYPE) {
    app.removeAllContentTypeParsers();
    app.addHook('onRequest', ignoreContentType);
  } else {
    app.removeContentTypeParser(contentType);
  }
  const options = { parseAs: 'buffer', bodyLimit: parser.bodyLimit } as const;
  app.addContentTypeParser<Buffer>(contentType, options, (_request, body, done) => {
    let value: unknown;
    try {
      value = parser.read(utf8Text(body));
    } catch (error) {
      done(parser.refuse(error as Error), undefined);
      return;
    }
    done(null, value);
  });
}

// A Content-Type that is no media type at all (empty, `foo`, `;;`) is treated as none: then
// Fastify hands a body to the catch-all parser (and skips it when there is no body at all) instead
// of answering 415. A well-formed one, whatever it says, already reaches the catch-all parser.
function ignoreContentType(request: FastifyRequest, _reply: FastifyReply, done: () => void) {
  if (request.headers['content-type'] !== undefined && request.mediaType === undefined) {
    delete request.raw.headers['content-type'];
  }
  done();
}
