"""WSGI entry point for your own gunicorn, one gthread worker per port (README "Deployment at scale"):

    gunicorn -w 1 -k gthread --threads 1200 --worker-connections 3200 --keep-alive 75 -b :5000 hall_queue.wsgi:app

gunicorn imports this module in its worker, after the fork: the app's publisher thread and Redis
watch start there. The periodic duties run in one ``onevisit duties`` process.
"""
from hall_queue.entrypoints.cli import serving_app

app = serving_app(duties=False)
