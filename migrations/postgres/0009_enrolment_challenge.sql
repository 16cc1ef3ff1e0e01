ALTER TABLE "push_enrolments" ADD COLUMN "challenge" text;--> statement-breakpoint
ALTER TABLE "push_enrolments" ADD COLUMN "challenge_until" bigint;