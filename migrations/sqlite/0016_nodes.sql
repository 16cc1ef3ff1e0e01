CREATE TABLE `nodes` (
	`name` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`health` text DEFAULT '{}' NOT NULL
);
