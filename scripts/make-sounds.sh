#!/usr/bin/env bash
# Regenerate the project's own prompts (the ones no stock Asterisk sound covers) into
# asterisk_conf/sounds/<lang>/<name>.wav: espeak-ng speaks the text, sox makes it 8 kHz 16-bit mono WAV,
# which Asterisk plays without transcoding on G.711 calls. The WAVs are committed; run this only after
# changing a text below. Installs espeak-ng and sox when missing (Debian, as root).
#
#   scripts/make-sounds.sh            all prompts
#   scripts/make-sounds.sh dialer/    only names starting with "dialer/"
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=asterisk_conf/sounds
ONLY=${1:-}

if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then
  echo "make-sounds: apt-get install espeak-ng sox" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    --no-install-recommends espeak-ng sox >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count=0

# say LANG NAME TEXT
say() {
  local lang=$1 name=$2 text=$3
  case "$name" in "$ONLY"*) ;; *) return 0 ;; esac
  local voice=$lang rate=150
  [ "$lang" = ru ] && rate=145
  mkdir -p "$OUT/$lang/$(dirname "$name")"
  espeak-ng -v "$voice" -s "$rate" -w "$tmp/raw.wav" -- "$text"
  # 8 kHz mono 16-bit, normalised to -3 dBFS, with 150 ms of silence at the end so prompts do not run together
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$lang/$name.wav" norm -3 pad 0 0.15
  count=$((count + 1))
}

# ---- prompts the outbound dialer plays (context dialer-answered) ---------------------------------------
say ru dialer/abandoned "Здравствуйте! Вам звонили из службы 505 по поводу вашего паспорта. Сейчас все операторы заняты, мы перезвоним вам позже."
say en dialer/abandoned "Hello, this is the passport service 505 calling about your passport. All our operators are busy right now; we will call you back later."
say ru dialer/abandoned-final "Здравствуйте! Вам звонили из службы 505 по поводу вашего паспорта. Сейчас все операторы заняты. Чтобы узнать о вашем паспорте, позвоните по номеру 505."
say en dialer/abandoned-final "Hello, this is the passport service 505 calling about your passport. All our operators are busy right now. To hear about your passport, please call us on 505."
say ru dialer/machine-message "Здравствуйте! Это служба 505. Ваш паспорт готов к выдаче. Пожалуйста, перезвоните по номеру 505."
say en dialer/machine-message "Hello, this is the passport service 505. Your passport is ready for pickup. Please call us back on 505."
say ru dialer/operators-busy "Все операторы заняты. Пожалуйста, позвоните позже."
say en dialer/operators-busy "All our operators are busy. Please call again later."

# ---- the inbound IVR on 505 (dialer/ivr/prompts.py names them) -----------------------------------------
say ru ivr/welcome "Здравствуйте! Вы позвонили в службу 505. Здесь можно узнать, готов ли ваш паспорт."
say en ivr/welcome "Hello, you have reached the passport service 505. Here you can find out whether your passport is ready."
say ru ivr/enter-number "Введите цифры номера заявления, без букв, и нажмите решётку."
say en ivr/enter-number "Please key in the digits of your application number, leaving out any letters, then press the hash key."
say ru ivr/you-entered "Вы ввели номер"
say en ivr/you-entered "You keyed in"
say ru ivr/confirm-number "Если номер верный, нажмите 1. Чтобы ввести его заново, нажмите 2."
say en ivr/confirm-number "If this is right, press 1. To key it in again, press 2."
say ru ivr/ambiguous "Этот номер подходит к нескольким заявлениям. Соединяем вас с оператором."
say en ivr/ambiguous "This number matches more than one application. Connecting you to an operator."
say ru ivr/offer-own "Чтобы узнать о заявлении, номер которого оканчивается на"
say en ivr/offer-own "For the application whose number ends in"
say ru ivr/offer-own-press "нажмите 1. Или введите номер другого заявления и нажмите решётку."
say en ivr/offer-own-press "press 1. Or key in another application number, then press the hash key."
say ru ivr/invalid-number "Номер заявления введён неверно."
say en ivr/invalid-number "That is not a valid application number."
say ru ivr/no-input "Вы ничего не ввели."
say en ivr/no-input "We did not receive any digits."
say ru ivr/not-found "Заявление с таким номером не найдено."
say en ivr/not-found "We could not find an application with this number."
say ru ivr/try-again "Пожалуйста, попробуйте ещё раз."
say en ivr/try-again "Please try again."
say ru ivr/status-ready "Ваш паспорт готов к выдаче."
say en ivr/status-ready "Your passport is ready for pickup."
say ru ivr/pickup-office "Получить его можно в отделении номер"
say en ivr/pickup-office "You can collect it at office number"
say ru ivr/pickup-from "Дата, с которой можно получить паспорт:"
say en ivr/pickup-from "You can collect it from"
say ru ivr/status-processing "Ваше заявление находится в обработке."
say en ivr/status-processing "Your application is being processed."
say ru ivr/status-submitted "Ваше заявление принято и ожидает рассмотрения."
say en ivr/status-submitted "Your application has been received and is waiting to be processed."
say ru ivr/expected-date "Ожидаемая дата готовности:"
say en ivr/expected-date "The expected date is"
say ru ivr/status-issued "Паспорт по этому заявлению уже выдан."
say en ivr/status-issued "The passport for this application has already been issued."
say ru ivr/status-rejected "По этому заявлению принято решение об отказе. Подробности может сообщить оператор."
say en ivr/status-rejected "This application has been refused. An operator can tell you more."
say ru ivr/menu "Чтобы прослушать ещё раз, нажмите 1. Чтобы соединиться с оператором, нажмите 0. Для завершения нажмите решётку."
say en ivr/menu "To hear this again, press 1. To speak to an operator, press 0. To finish, press the hash key."
say ru ivr/unavailable "Сервис временно недоступен. Соединяем вас с оператором."
say en ivr/unavailable "The service is unavailable right now. Connecting you to an operator."
say ru ivr/limited "С вашего номера было слишком много запросов. Соединяем вас с оператором."
say en ivr/limited "There have been too many requests from your number. Connecting you to an operator."
say ru ivr/connecting "Соединяем вас с оператором."
say en ivr/connecting "Connecting you to an operator."
say ru ivr/goodbye "Спасибо за звонок. До свидания!"
say en ivr/goodbye "Thank you for calling. Goodbye!"

# ---- pickup booking in the IVR (dialer/ivr/booking.py names them) -------------------------------------
say ru ivr/booking-office "Записаться на получение паспорта можно в отделении"
say en ivr/booking-office "You can book a time to collect your passport at"
say ru ivr/booking-first-slot "Ближайшее свободное время:"
say en ivr/booking-first-slot "The first free time is"
say ru ivr/booking-next-slot "Следующее свободное время:"
say en ivr/booking-next-slot "The next free time is"
say ru ivr/booking-at "в"
say en ivr/booking-at "at"
say ru ivr/booking-slot-menu "Чтобы записаться на это время, нажмите 1. Чтобы услышать следующее время, нажмите 2. Чтобы узнать, как добраться, нажмите 3. Чтобы соединиться с оператором, нажмите 0."
say en ivr/booking-slot-menu "To book this time, press 1. For the next free time, press 2. To hear how to get there, press 3. To speak to an operator, press 0."
say ru ivr/booking-booked "Вы записаны на получение паспорта:"
say en ivr/booking-booked "You are booked to collect your passport on"
say ru ivr/booking-slot-taken "Это время только что заняли."
say en ivr/booking-slot-taken "That time has just been taken."
say ru ivr/booking-no-slots "В ближайшие дни свободного времени нет."
say en ivr/booking-no-slots "There is no free time in the coming days."
say ru ivr/booking-yours "Вы записаны на получение паспорта:"
say en ivr/booking-yours "You are booked to collect your passport on"
say ru ivr/booking-booked-menu "Чтобы отменить запись, нажмите 1. Чтобы перенести её, нажмите 2. Чтобы узнать, как добраться, нажмите 3. Чтобы соединиться с оператором, нажмите 0."
say en ivr/booking-booked-menu "To cancel this booking, press 1. To move it, press 2. To hear how to get there, press 3. To speak to an operator, press 0."
say ru ivr/booking-cancelled "Ваша запись отменена."
say en ivr/booking-cancelled "Your booking has been cancelled."
say ru ivr/booking-no-directions "Как добраться, подскажет оператор."
say en ivr/booking-no-directions "An operator can tell you how to get there."

echo "make-sounds: wrote $count prompts into $OUT" >&2
