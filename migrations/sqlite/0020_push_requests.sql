CREATE TABLE `push_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`node` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`request` text NOT NULL,
	`decision` text,
	`picked` integer
);
--> statement-breakpoint
CREATE INDEX `push_requests_user` ON `push_requests` (`username`);--> statement-breakpoint
CREATE INDEX `push_requests_node` ON `push_requests` (`node`);