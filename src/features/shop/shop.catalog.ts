// Owns the shop's fixed facts: the merch and its prices, the starting balance, and the limits on
// what clients may send.

export const START_COINS = 1000;

/** The merch, with exact names and prices; stock is unlimited. */
export const ITEMS: ReadonlyMap<string, number> = new Map([
  ['t-shirt', 80],
  ['cup', 20],
  ['book', 50],
  ['pen', 10],
  ['powerbank', 200],
  ['hoody', 300],
  ['umbrella', 200],
  ['socks', 10],
  ['wallet', 50],
  ['pink-hoody', 500],
]);

export const USERNAME_LENGTH_MAX = 64;
export const PASSWORD_LENGTH_MAX = 128;
/** The smallest amount sent: a transfer moves at least one coin. */
export const AMOUNT_MIN = 1;
/** The largest amount JSON carries exactly; anything above cannot be paid anyway. */
export const AMOUNT_MAX = Number.MAX_SAFE_INTEGER;
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
/** Shop requests are a few hundred bytes; nothing bigger is read. */
export const SHOP_BODY_LIMIT_BYTES = 16 * 1024;
