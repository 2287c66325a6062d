-- A batch of operations on one wallet in one round trip and one transaction: the service gathers
-- the operations that arrive for a wallet while its previous batch runs and sends them here
-- together, so a hot wallet pays one commit per batch instead of one per operation. The wallet's
-- row lock serializes batches from every process; it is FOR NO KEY UPDATE (the id never changes),
-- so that rows referring to the wallet, such as a new Idempotency-Key claim, need not wait for it. Operations apply in array order, each against
-- the balance the previous one left: a withdrawal above that balance, or a deposit that would pass
-- 2^63 - 1, is refused ('INSUFFICIENT_FUNDS', 'BALANCE_LIMIT') and changes nothing; every other
-- operation gets the wallet's next sequence number and a history row. One result row per
-- operation, in order; no rows at all when the wallet does not exist. An operation with an
-- Idempotency-Key has its outcome recorded in the same transaction as the change; one whose key
-- already holds an outcome (a retry that outlived its claim) is not applied again but answered
-- 'REPLAY', and the caller replays that outcome. Both happen under the wallet's lock, so no key
-- ever applies twice, whatever the timing of claims and retries; the record always names the
-- operation that was applied (its fingerprint too, should a retry have re-claimed the key).
CREATE FUNCTION wallet_apply(
  p_wallet uuid,
  p_types text[],
  p_amounts bigint[],
  p_keys text[],
  p_fingerprints text[]
)
RETURNS TABLE (r_outcome text, r_operation_id uuid, r_balance bigint, r_created_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
  v_balance bigint;
  v_seq bigint;
  v_ids uuid[] := '{}';
  v_seqs bigint[] := '{}';
  v_types text[] := '{}';
  v_amounts bigint[] := '{}';
  v_balances bigint[] := '{}';
  v_prior text;
  i integer;
BEGIN
  SELECT balance, operations_count INTO v_balance, v_seq
  FROM wallets WHERE id = p_wallet FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r_created_at := now();
  FOR i IN 1 .. coalesce(cardinality(p_types), 0) LOOP
    r_operation_id := NULL;
    r_balance := v_balance;
    IF p_keys[i] IS NOT NULL THEN
      SELECT outcome INTO v_prior
      FROM wallet_idempotency_keys WHERE wallet_id = p_wallet AND key = p_keys[i];
      IF v_prior IS NOT NULL THEN
        r_outcome := 'REPLAY';
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    IF p_types[i] = 'WITHDRAW' AND p_amounts[i] > v_balance THEN
      r_outcome := 'INSUFFICIENT_FUNDS';
    ELSIF p_types[i] = 'DEPOSIT' AND p_amounts[i] > 9223372036854775807 - v_balance THEN
      r_outcome := 'BALANCE_LIMIT';
    ELSIF p_types[i] IN ('DEPOSIT', 'WITHDRAW') AND p_amounts[i] > 0 THEN
      IF p_types[i] = 'DEPOSIT' THEN
        v_balance := v_balance + p_amounts[i];
      ELSE
        v_balance := v_balance - p_amounts[i];
      END IF;
      v_seq := v_seq + 1;
      r_outcome := 'OK';
      r_operation_id := gen_random_uuid();
      v_ids := v_ids || r_operation_id;
      v_seqs := v_seqs || v_seq;
      v_types := v_types || p_types[i];
      v_amounts := v_amounts || p_amounts[i];
      v_balances := v_balances || v_balance;
    ELSE
      RAISE EXCEPTION 'wallet_apply: invalid operation % %', p_types[i], p_amounts[i];
    END IF;
    r_balance := v_balance;
    IF p_keys[i] IS NOT NULL THEN
      INSERT INTO wallet_idempotency_keys AS k
        (wallet_id, key, fingerprint, outcome, operation_id, updated_at)
      VALUES (p_wallet, p_keys[i], p_fingerprints[i], r_outcome, r_operation_id, r_created_at)
      ON CONFLICT (wallet_id, key) DO UPDATE
      SET fingerprint = EXCLUDED.fingerprint, outcome = EXCLUDED.outcome,
        operation_id = EXCLUDED.operation_id, updated_at = EXCLUDED.updated_at;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF cardinality(v_ids) > 0 THEN
    INSERT INTO wallet_operations (wallet_id, seq, id, type, amount, balance_after, created_at)
    SELECT p_wallet, s, o, t, a, b, r_created_at
    FROM unnest(v_seqs, v_ids, v_types, v_amounts, v_balances) AS batch (s, o, t, a, b);
    UPDATE wallets SET balance = v_balance, operations_count = v_seq WHERE id = p_wallet;
  END IF;
END;
$$;
