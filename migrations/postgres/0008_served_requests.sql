CREATE TABLE "served_requests" (
	"uuid" text PRIMARY KEY NOT NULL,
	"application_id" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"entry" text NOT NULL,
	"state" text NOT NULL,
	"ended_at" bigint
);
--> statement-breakpoint
CREATE INDEX "served_requests_expires" ON "served_requests" USING btree ("expires_at");