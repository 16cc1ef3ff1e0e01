CREATE TABLE `windows_agents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_seen_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `windows_agents_name_unique` ON `windows_agents` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `windows_agents_token_hash_unique` ON `windows_agents` (`token_hash`);