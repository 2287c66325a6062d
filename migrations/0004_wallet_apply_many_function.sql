-- Batches of several wallets in one round trip and one transaction, so that operations spread
-- over many wallets share a commit as a hot wallet's do. p_wallets must be distinct and in
-- ascending order: each wallet_apply locks its wallet, so every transaction takes its locks in
-- that one order and two of them cannot deadlock. p_counts[i] operations of the flat arrays
-- belong to p_wallets[i], in order. One result row per operation, in order; a wallet that does
-- not exist gives 'NO_WALLET' for each of its operations (and changes nothing).
CREATE FUNCTION wallet_apply_many(
  p_wallets uuid[],
  p_counts integer[],
  p_types text[],
  p_amounts bigint[],
  p_keys text[],
  p_fingerprints text[]
)
RETURNS TABLE (r_outcome text, r_operation_id uuid, r_balance bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  v_first integer := 1;
  v_last integer;
  v_rows integer;
  v_result record;
  i integer;
BEGIN
  FOR i IN 1 .. coalesce(cardinality(p_wallets), 0) LOOP
    IF i > 1 AND p_wallets[i] <= p_wallets[i - 1] THEN
      RAISE EXCEPTION 'wallet_apply_many: wallets must be distinct and ascending';
    END IF;
    v_last := v_first + p_counts[i] - 1;
    v_rows := 0;
    FOR v_result IN
      SELECT * FROM wallet_apply(
        p_wallets[i],
        p_types[v_first:v_last],
        p_amounts[v_first:v_last],
        p_keys[v_first:v_last],
        p_fingerprints[v_first:v_last]
      )
    LOOP
      v_rows := v_rows + 1;
      r_outcome := v_result.r_outcome;
      r_operation_id := v_result.r_operation_id;
      r_balance := v_result.r_balance;
      RETURN NEXT;
    END LOOP;
    IF v_rows = 0 THEN
      FOR v_rows IN v_first .. v_last LOOP
        r_outcome := 'NO_WALLET';
        r_operation_id := NULL;
        r_balance := 0;
        RETURN NEXT;
      END LOOP;
    END IF;
    v_first := v_last + 1;
  END LOOP;
  IF v_first - 1 <> coalesce(cardinality(p_types), 0) THEN
    RAISE EXCEPTION 'wallet_apply_many: counts cover % of % operations', v_first - 1,
      coalesce(cardinality(p_types), 0);
  END IF;
END;
$$;
