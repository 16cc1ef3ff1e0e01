CREATE TABLE `served_requests` (
	`uuid` text PRIMARY KEY NOT NULL,
	`application_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`entry` text NOT NULL,
	`state` text NOT NULL,
	`ended_at` integer
);
--> statement-breakpoint
CREATE INDEX `served_requests_expires` ON `served_requests` (`expires_at`);