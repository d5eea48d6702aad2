"""The loopback SMTP and S3 fixtures later features use."""

import smtplib
from email.message import EmailMessage


def test_smtp_fixture_receives_mail(smtp):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "Hi"
    message.set_content("Hello")
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        client.send_message(message)
    assert smtp.wait_for(1)[0].subject == "Hi"


def test_s3_fixture_stores_objects(s3):
    s3.create_bucket("meet-media-storage")
    client = s3.client()
    try:
        client.put_object(Bucket="meet-media-storage", Key="k", Body=b"data")
        assert client.get_object(Bucket="meet-media-storage", Key="k")["Body"].read() == b"data"
    finally:
        client.close()
