-- shop_transfer locks its two users FOR NO KEY UPDATE instead of FOR UPDATE. A keyed transfer
-- first claims its Idempotency-Key, whose foreign key takes FOR KEY SHARE on the sender's row;
-- FOR UPDATE conflicts with that share, so A→B (holding a share on A) and B→A (holding one on B)
-- each waited for the other: a deadlock. FOR NO KEY UPDATE, what an UPDATE of the balance takes
-- anyway, does not conflict with FOR KEY SHARE, and still orders every change of the same rows
-- (two NO KEY UPDATE locks conflict), so the id order below still rules out A→B against B→A.
CREATE OR REPLACE FUNCTION shop_transfer(sender integer, recipient_name text, amount bigint)
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
    ORDER BY id FOR NO KEY UPDATE
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
