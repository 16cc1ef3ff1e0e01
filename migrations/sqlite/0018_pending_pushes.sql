CREATE TABLE `pending_pushes` (
	`id` text PRIMARY KEY NOT NULL,
	`join_key` text NOT NULL,
	`live` integer DEFAULT 1 NOT NULL,
	`username` text NOT NULL,
	`node` text NOT NULL,
	`ref` text,
	`started_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`outcome` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pending_pushes_live` ON `pending_pushes` (`join_key`) WHERE live = 1;--> statement-breakpoint
CREATE INDEX `pending_pushes_expires` ON `pending_pushes` (`expires_at`);