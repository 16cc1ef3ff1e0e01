CREATE TABLE `downstream_pools` (
	`name` text PRIMARY KEY NOT NULL,
	`mode` text DEFAULT 'fail-over' NOT NULL,
	`response_window_ms` integer DEFAULT 2000 NOT NULL,
	`dead_after` integer DEFAULT 3 NOT NULL,
	`check_interval_ms` integer DEFAULT 10000 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `radius_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`client` text NOT NULL,
	`nas` text NOT NULL,
	`session_id` text NOT NULL,
	`username` text NOT NULL,
	`nas_port` text,
	`framed_ip` text,
	`calling_station_id` text,
	`started_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`input_bytes` integer DEFAULT 0 NOT NULL,
	`output_bytes` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `radius_sessions_key` ON `radius_sessions` (`client`,`nas`,`session_id`);--> statement-breakpoint
CREATE INDEX `radius_sessions_username` ON `radius_sessions` (`username`);--> statement-breakpoint
CREATE TABLE `realms` (
	`name` text PRIMARY KEY NOT NULL,
	`pool` text NOT NULL,
	`strip` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
ALTER TABLE `downstream_servers` ADD `pool` text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE `downstream_servers` ADD `acct_port` integer DEFAULT 1813 NOT NULL;--> statement-breakpoint
ALTER TABLE `downstream_servers` ADD `transport` text DEFAULT 'udp' NOT NULL;