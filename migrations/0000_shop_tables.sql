CREATE TABLE "shop_idempotency_keys" (
	"user_id" integer NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"outcome" text,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_idempotency_keys_user_id_key_pk" PRIMARY KEY("user_id","key")
);
--> statement-breakpoint
CREATE TABLE "shop_inventory" (
	"user_id" integer NOT NULL,
	"item" text NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "shop_inventory_user_id_item_pk" PRIMARY KEY("user_id","item"),
	CONSTRAINT "shop_inventory_quantity_positive" CHECK ("shop_inventory"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "shop_purchases" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "shop_purchases_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" integer NOT NULL,
	"item" text NOT NULL,
	"price" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_purchases_price_positive" CHECK ("shop_purchases"."price" > 0)
);
--> statement-breakpoint
CREATE TABLE "shop_transfer_totals" (
	"from_user_id" integer NOT NULL,
	"to_user_id" integer NOT NULL,
	"amount" bigint NOT NULL,
	CONSTRAINT "shop_transfer_totals_from_user_id_to_user_id_pk" PRIMARY KEY("from_user_id","to_user_id")
);
--> statement-breakpoint
CREATE TABLE "shop_transfers" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "shop_transfers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"from_user_id" integer NOT NULL,
	"to_user_id" integer NOT NULL,
	"amount" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_transfers_amount_positive" CHECK ("shop_transfers"."amount" > 0),
	CONSTRAINT "shop_transfers_not_to_self" CHECK ("shop_transfers"."from_user_id" <> "shop_transfers"."to_user_id")
);
--> statement-breakpoint
CREATE TABLE "shop_users" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "shop_users_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"balance" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_users_username_unique" UNIQUE("username"),
	CONSTRAINT "shop_users_balance_non_negative" CHECK ("shop_users"."balance" >= 0)
);
--> statement-breakpoint
ALTER TABLE "shop_idempotency_keys" ADD CONSTRAINT "shop_idempotency_keys_user_id_shop_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_inventory" ADD CONSTRAINT "shop_inventory_user_id_shop_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_purchases" ADD CONSTRAINT "shop_purchases_user_id_shop_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_transfer_totals" ADD CONSTRAINT "shop_transfer_totals_from_user_id_shop_users_id_fk" FOREIGN KEY ("from_user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_transfer_totals" ADD CONSTRAINT "shop_transfer_totals_to_user_id_shop_users_id_fk" FOREIGN KEY ("to_user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_transfers" ADD CONSTRAINT "shop_transfers_from_user_id_shop_users_id_fk" FOREIGN KEY ("from_user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shop_transfers" ADD CONSTRAINT "shop_transfers_to_user_id_shop_users_id_fk" FOREIGN KEY ("to_user_id") REFERENCES "public"."shop_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "shop_idempotency_keys_created_at" ON "shop_idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "shop_purchases_user_id" ON "shop_purchases" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "shop_transfer_totals_to_user_id" ON "shop_transfer_totals" USING btree ("to_user_id");--> statement-breakpoint
CREATE INDEX "shop_transfers_from_user_id" ON "shop_transfers" USING btree ("from_user_id");--> statement-breakpoint
CREATE INDEX "shop_transfers_to_user_id" ON "shop_transfers" USING btree ("to_user_id");