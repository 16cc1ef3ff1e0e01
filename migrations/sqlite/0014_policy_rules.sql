CREATE TABLE `policy_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`position` integer NOT NULL,
	`name` text NOT NULL,
	`groups` text DEFAULT '' NOT NULL,
	`client` text,
	`action` text NOT NULL,
	`factors` text DEFAULT 'any' NOT NULL,
	`reply_attributes` text DEFAULT '' NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_rules_name_unique` ON `policy_rules` (`name`);