CREATE TABLE `push_app_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`application_id` integer NOT NULL,
	`scope` text NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`application_id`) REFERENCES `push_applications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `push_app_tokens_expiry` ON `push_app_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `push_applications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`access_id` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_hash` text NOT NULL,
	`allowed_sources` text DEFAULT '' NOT NULL,
	`rate_limit` integer DEFAULT 10000 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_applications_name_unique` ON `push_applications` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `push_applications_access_id_unique` ON `push_applications` (`access_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `push_applications_client_id_unique` ON `push_applications` (`client_id`);