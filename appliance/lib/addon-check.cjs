// Does better-sqlite3, as compiled for the image's Node, survive statements being collected?
//
// Node 24.19 and later 24.x releases ship a node::ObjectWrap whose destructor removes an
// environment cleanup hook and aborts ("Assertion failed: (env) != nullptr") when V8 collects
// the object outside a JavaScript context, which it does from timers and idle tasks
// (nodejs/node#65446). Every garbage better-sqlite3 Statement then kills the process, seconds
// after start. This makes garbage statements across timer turns the way a running appliance
// does; with an affected Node it aborts within a fraction of a second.
'use strict';
const Database = require(process.argv[2]);
const db = new Database(':memory:');
db.exec('CREATE TABLE t (a)');
let round = 0;
const churn = () => {
  for (let i = 0; i < 2000; i++) db.prepare(`SELECT ${i % 7} FROM t`).all();
  if (++round < 25) setTimeout(churn, 5);
  else setTimeout(() => db.close(), 300);
};
churn();
