CREATE TABLE `push_admissions` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`node` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `push_admissions_user` ON `push_admissions` (`username`,`started_at`);--> statement-breakpoint
CREATE INDEX `push_admissions_started` ON `push_admissions` (`started_at`);