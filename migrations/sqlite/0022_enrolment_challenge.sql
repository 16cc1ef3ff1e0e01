ALTER TABLE `push_enrolments` ADD `challenge` text;--> statement-breakpoint
ALTER TABLE `push_enrolments` ADD `challenge_until` integer;