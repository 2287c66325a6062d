CREATE TABLE "wallet_idempotency_keys" (
	"wallet_id" uuid NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"outcome" text,
	"operation_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallet_idempotency_keys_wallet_id_key_pk" PRIMARY KEY("wallet_id","key")
);
--> statement-breakpoint
CREATE TABLE "wallet_operations" (
	"wallet_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"amount" bigint NOT NULL,
	"balance_after" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallet_operations_wallet_id_seq_pk" PRIMARY KEY("wallet_id","seq"),
	CONSTRAINT "wallet_operations_id_unique" UNIQUE("id"),
	CONSTRAINT "wallet_operations_type_known" CHECK ("wallet_operations"."type" IN ('DEPOSIT', 'WITHDRAW')),
	CONSTRAINT "wallet_operations_amount_positive" CHECK ("wallet_operations"."amount" > 0),
	CONSTRAINT "wallet_operations_balance_after_non_negative" CHECK ("wallet_operations"."balance_after" >= 0)
);
--> statement-breakpoint
CREATE TABLE "wallets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	"operations_count" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallets_balance_non_negative" CHECK ("wallets"."balance" >= 0)
);
--> statement-breakpoint
ALTER TABLE "wallet_idempotency_keys" ADD CONSTRAINT "wallet_idempotency_keys_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallet_operations" ADD CONSTRAINT "wallet_operations_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "wallet_idempotency_keys_updated_at" ON "wallet_idempotency_keys" USING btree ("updated_at");