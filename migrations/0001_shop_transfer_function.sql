-- A transfer in one round trip. Run from the service as one statement (its own transaction) or
-- inside a transaction (with an Idempotency-Key), it locks the sender and the recipient in id
-- order, whoever sends, so that A→B racing B→A queue on the same first lock instead of
-- deadlocking; holding the locks only for the length of this call, not across client round
-- trips. It returns 'OK' or the shop's error code for a refusal, having changed nothing then.
CREATE FUNCTION shop_transfer(sender integer, recipient_name text, amount bigint)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  party record;
  sender_name text;
  sender_balance bigint;
  recipient integer;
BEGIN
  FOR party IN
    SELECT id, username, balance FROM shop_users
    WHERE id = sender OR username = recipient_name
    ORDER BY id FOR UPDATE
  LOOP
    IF party.id = sender THEN
      sender_name := party.username;
      sender_balance := party.balance;
    ELSE
      recipient := party.id;
    END IF;
  END LOOP;
  IF sender_name IS NULL THEN RETURN 'USER_GONE'; END IF;
  IF sender_name = recipient_name THEN RETURN 'SELF_TRANSFER'; END IF;
  IF recipient IS NULL THEN RETURN 'UNKNOWN_RECIPIENT'; END IF;
  IF sender_balance < amount THEN RETURN 'INSUFFICIENT_COINS'; END IF;

  UPDATE shop_users SET balance = balance - amount WHERE id = sender;
  UPDATE shop_users SET balance = balance + amount WHERE id = recipient;
  INSERT INTO shop_transfers (from_user_id, to_user_id, amount) VALUES (sender, recipient, amount);
  INSERT INTO shop_transfer_totals (from_user_id, to_user_id, amount)
  VALUES (sender, recipient, amount)
  ON CONFLICT (from_user_id, to_user_id)
  DO UPDATE SET amount = shop_transfer_totals.amount + EXCLUDED.amount;
  RETURN 'OK';
END;
$$;
