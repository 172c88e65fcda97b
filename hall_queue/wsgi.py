"""WSGI entry point for gunicorn: ``gunicorn -w 1 -k gthread --threads 100 hall_queue.wsgi:app``.

Flask-SocketIO in threading mode serves WebSockets through simple-websocket inside one gunicorn
worker; run one worker per port and several ports behind a sticky load balancer (see README).
"""
from hall_queue import config, create_app
from hall_queue.infrastructure.backup import hold_server_lock

hold_server_lock(config.from_env()["DATABASE_URL"], config.instance_dir())  # `onevisit restore` refuses meanwhile
app = create_app()
