CREATE TABLE "shop_sign_in_failures" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"failures" integer NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	CONSTRAINT "shop_sign_in_failures_scope_key_pk" PRIMARY KEY("scope","key"),
	CONSTRAINT "shop_sign_in_failures_scope_known" CHECK ("shop_sign_in_failures"."scope" IN ('user', 'address')),
	CONSTRAINT "shop_sign_in_failures_failures_positive" CHECK ("shop_sign_in_failures"."failures" > 0)
);
--> statement-breakpoint
CREATE INDEX "shop_sign_in_failures_window_started_at" ON "shop_sign_in_failures" USING btree ("window_started_at");