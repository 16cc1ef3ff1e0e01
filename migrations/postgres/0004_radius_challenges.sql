CREATE TABLE "radius_challenges" (
	"state" text PRIMARY KEY NOT NULL,
	"payload_sealed" "bytea" NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "radius_challenges_expires" ON "radius_challenges" USING btree ("expires_at");